"""Training the CNNs: a tf.data input pipeline, `model.fit` under the chosen strategy, per-epoch history."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from uncertainty.core.errors import PipelineError
from uncertainty.models.classifier import head_of
from uncertainty.models.cnn import build_cnn, compile_cnn, swish
from uncertainty.models.runtime import get_strategy


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int | None = None
) -> tf.data.Dataset:
    """(images (N, H, W, C) float32, one-hot labels (N, K)) -> batched, prefetched dataset.

    With a seed the order is reshuffled every epoch from that seed (same seed =>
    same order, run after run); without one the order is kept (evaluation).
    Only indices are shuffled; each batch is one gather from the in-memory
    arrays (per-element slicing and shuffling of 60,000 images costs more than
    a training step on this CPU), and the next batch is prepared while the
    cores run the current one.

    The pipeline runs on one thread of its own, at a fixed depth, with tf.data's
    autotuner off. A gather of 128 images takes well under a millisecond, so one
    thread keeps ahead of the step; with tf.data's defaults its thread pool competed
    with the training ops for the two cores and the autotuner stalled whole epochs
    (an epoch took 6 s or 10 s at random, the process idle half of the slow ones:
    `make bench`, README "Speed"). The batches, and so the trained bits, are the same.
    """
    images_t, labels_t = tf.constant(images), tf.constant(labels)
    indices = tf.data.Dataset.range(len(images))
    if seed is not None:
        indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    return (
        indices.batch(batch_size)
        .map(lambda i: (tf.gather(images_t, i), tf.gather(labels_t, i)))
        .prefetch(2)
        .with_options(options)
    )


def evaluation_dataset(
    images: np.ndarray, labels: np.ndarray, replicas: int = 1, batch_size: int = 1024
) -> tf.data.Dataset:
    """(images, one-hot labels) -> batches in order, for validation and evaluation.

    On one device, `make_dataset`'s batches of `batch_size`. Over R > 1 replicas
    (train.strategy: mirrored), Keras first averages the opening batch's per-replica
    slices to build the model, and that fails unless the slices are equal (17 + 16
    images: an AddN shape error). So every batch but the last holds a multiple of R
    images, and the last the N mod R left over; a replica left with none is padded
    by `BatchShards`. The same images, so the same mean loss and accuracy.
    """
    if replicas == 1:
        return make_dataset(images, labels, batch_size)
    even = len(images) - len(images) % replicas
    if even == 0:
        raise PipelineError(
            f"{len(images)} evaluation images cannot be split over {replicas} replicas "
            f"(train.strategy: mirrored); use at least {replicas} test images (prepare.test_limit)"
        )
    size = max(replicas, batch_size - batch_size % replicas)
    dataset = make_dataset(images[:even], labels[:even], size)
    if even < len(images):
        dataset = dataset.concatenate(make_dataset(images[even:], labels[even:], size))
    return dataset


class BatchShards(keras.layers.Layer):
    """The CNN applied to `shards` contiguous slices of each batch, outputs concatenated in order.

    (batch, H, W, C) -> `shards` slices of about batch / shards images -> the CNN on
    each -> (batch, 10). The loss over the concatenated outputs is the same mean over the
    same images, so the gradient is the same sum, added up in another order: the
    article's update, rounded differently (and, with dropout, other masks from the same
    seed). The slices are independent branches of the step's graph; with one intra-op
    thread per slice (`runtime.set_threads_for_shards`), TensorFlow's executor runs them
    on the cores at once, which these small oneDNN convolutions use better than one op
    split over two threads (`make bench`). Every weight is the CNN's own.
    """

    def __init__(self, cnn: keras.Model, shards: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        self.cnn = cnn
        self.shards = shards

    def call(self, images: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        size = tf.shape(images)[0]
        # oneDNN rejects a convolution over zero images, so a batch smaller than the shard
        # count (only ever a last batch) gets blank images, whose outputs are dropped before
        # the loss. Padding rather than a tf.cond: the cond's If op, inside the
        # steps-per-execution loop, kept the slices from running at once (README, "Speed").
        padded = tf.pad(images, [[0, tf.maximum(self.shards - size, 0)], [0, 0], [0, 0], [0, 0]])
        total = tf.shape(padded)[0]
        bounds = [total * k // self.shards for k in range(self.shards + 1)]  # balanced: 96 -> 48 + 48
        pieces = [padded[start:stop] for start, stop in pairwise(bounds)]
        return tf.concat([self.cnn(piece, training=training) for piece in pieces], axis=0)[:size]


def train_cnn(
    dropout_rate: float,
    seed: int,
    train_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    strategy: str = "default",
    steps_per_execution: int = 1,
    batch_shards: int = 1,
    verbose: int = 2,
    activation: str | Callable[[Any], Any] = swish,
    build: Callable[[float], keras.Model] | None = None,
) -> tuple[keras.Model, dict[str, list[float]], str]:
    """Build and fit one CNN -> (model, per-epoch history, that history as Keras' CSVLogger wrote it).

    steps_per_execution > 1 runs that many training steps per call into the
    compiled graph (the same updates in the same order; the graph differs, so
    oneDNN may round differently: a param, measured in `make bench`).
    batch_shards > 1 computes each batch (training and validation) as that many
    slices (`BatchShards`); the CNN returned is the article's, compiled the same way,
    for evaluation and saving.
    `build` makes the model from the dropout rate (train.builder, uncertainty.models.cnn.architecture); without it,
    the article's CNN with `activation`: the bench passes "swish" (Keras' own gradient) to
    measure the custom gradient against it.
    The CSV is logged into a temporary directory and returned as text, so a
    run killed mid-training leaves no partial history beside the outputs.
    """
    distribution = get_strategy(strategy)
    replicas = distribution.num_replicas_in_sync
    if batch_size % replicas:
        # Keras averages the first batch's per-replica slices before training; unequal ones fail.
        raise PipelineError(
            f"train.batch_size {batch_size} does not split evenly over the {replicas} replicas of "
            f"train.strategy {strategy!r}; use a multiple of {replicas}"
        )
    with distribution.scope():
        cnn = build(dropout_rate) if build else build_cnn(dropout_rate=dropout_rate, activation=activation)
        if batch_shards == 1 and replicas == 1:
            model = cnn
        else:  # over replicas also with one shard: its padding feeds a replica a last batch left empty
            model = keras.Sequential([keras.Input(cnn.input_shape[1:]), BatchShards(cnn, batch_shards)])
        logits = head_of(cnn).outputs_logits  # a logits head trains on the cross-entropy from logits
        compile_cnn(model, learning_rate, steps_per_execution, logits)
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "history.csv"
        history = model.fit(
            make_dataset(*train_data, batch_size, seed=seed),
            epochs=epochs,
            validation_data=evaluation_dataset(*validation_data, replicas),
            shuffle=False,  # the dataset reshuffles itself from the seed; fit's own shuffle would only warn
            callbacks=[keras.callbacks.CSVLogger(str(log))],
            verbose=verbose,
        )
        history_csv = log.read_text()
    if model is not cnn:
        with distribution.scope():
            compile_cnn(
                cnn, learning_rate, from_logits=logits
            )  # for `evaluate`; its weights are the trained ones
    return cnn, {key: [float(v) for v in values] for key, values in history.history.items()}, history_csv


def evaluate(
    model: keras.Model,
    data: tuple[np.ndarray, np.ndarray],
    build: Callable[[float], keras.Model] | None = None,
) -> dict[str, Any]:
    """Test loss and accuracy of a CNN from `train_cnn` (built by `build`, as there), under its strategy."""
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync > 1:
        # Over replicas, through BatchShards for its padding (a replica left with no image).
        # A copy of the CNN: wrapping the compiled one would bring in its unbuilt metrics.
        with strategy.scope():
            copy = build(0.0) if build else build_cnn()  # dropout is off in evaluation and holds no weights
            copy.set_weights(model.get_weights())
            model = keras.Sequential([keras.Input(copy.input_shape[1:]), BatchShards(copy, 1)])
            compile_cnn(
                model, 0.001, from_logits=head_of(copy).outputs_logits
            )  # evaluation only: the optimizer never steps
    dataset = evaluation_dataset(*data, strategy.num_replicas_in_sync)
    loss, accuracy = model.evaluate(dataset, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}
