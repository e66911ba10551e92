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

from uncertainty.cnn import IMAGE_SHAPE, build_cnn, compile_cnn, swish
from uncertainty.runtime import get_strategy


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int | None = None
) -> tf.data.Dataset:
    """(images (N, 28, 28, 1) float32, one-hot labels (N, 10)) -> batched, prefetched dataset.

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


class BatchShards(keras.layers.Layer):
    """The CNN applied to `shards` contiguous slices of each batch, outputs concatenated in order.

    (batch, 28, 28, 1) -> `shards` slices of about batch / shards images -> the CNN on
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
) -> tuple[keras.Model, dict[str, list[float]], str]:
    """Build and fit one CNN -> (model, per-epoch history, that history as Keras' CSVLogger wrote it).

    steps_per_execution > 1 runs that many training steps per call into the
    compiled graph (the same updates in the same order; the graph differs, so
    oneDNN may round differently: a param, measured in `make bench`).
    batch_shards > 1 computes each batch (training and validation) as that many
    slices (`BatchShards`); the CNN returned is the article's, compiled the same way,
    for evaluation and saving.
    `activation` is build_cnn's: the bench passes "swish" (Keras' own gradient) to
    train as the stage did before issue 12.
    The CSV is logged into a temporary directory and returned as text, so a
    run killed mid-training leaves no partial history beside the outputs.
    """
    with get_strategy(strategy).scope():
        cnn = build_cnn(dropout_rate, activation)
        if batch_shards == 1:
            model = cnn
        else:
            model = keras.Sequential([keras.Input(IMAGE_SHAPE), BatchShards(cnn, batch_shards)])
        compile_cnn(model, learning_rate, steps_per_execution)
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "history.csv"
        history = model.fit(
            make_dataset(*train_data, batch_size, seed=seed),
            epochs=epochs,
            validation_data=make_dataset(*validation_data, 1024),
            shuffle=False,  # the dataset reshuffles itself from the seed; fit's own shuffle would only warn
            callbacks=[keras.callbacks.CSVLogger(str(log))],
            verbose=verbose,
        )
        history_csv = log.read_text()
    if model is not cnn:
        with get_strategy(strategy).scope():
            compile_cnn(cnn, learning_rate)  # for `evaluate`; its weights are the trained ones
    return cnn, {key: [float(v) for v in values] for key, values in history.history.items()}, history_csv


def evaluate(model: keras.Model, data: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    loss, accuracy = model.evaluate(make_dataset(*data, 1024), verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}
