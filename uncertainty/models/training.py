"""Training the CNNs: the input batches, `model.fit` under the chosen strategy, per-epoch history.

The batches: on TensorFlow a tf.data pipeline (uncertainty.models.tf_backend.make_dataset: the
order the committed models were trained in); on any other backend a `keras.utils.PyDataset` of the
same arrays, `Batches`, whose order is numpy's permutation from (seed, epoch). Both give the same
batch sizes and the same images per epoch, each reshuffled every epoch from the seed (same seed =>
same order, run after run); the two orders differ, as do the two backends' kernels.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from uncertainty.core.errors import PipelineError
from uncertainty.models.classifier import head_of
from uncertainty.models.cnn import build_cnn, compile_cnn, swish
from uncertainty.models.runtime import TENSORFLOW, Strategy, get_strategy

if TENSORFLOW:
    from uncertainty.models import tf_backend


class Batches(keras.utils.PyDataset):
    """(images, one-hot labels) in batches, for `model.fit` on a backend without tf.data.

    Batch b of an epoch is images[order[starts[b]:starts[b + 1]]] (one gather from the in-memory arrays);
    `order` is the identity without a seed, else numpy's permutation from (seed, epoch), the epoch
    counted by Keras' calls to `on_epoch_end`. `starts` defaults to every `batch_size` images; `split`
    restarts the batches there (`evaluation_dataset`).

    With `multiple` R > 1 (JAX's DataParallel over R devices, which shards every batch evenly) a batch
    of n images that R does not divide is padded with its own first images up to the next multiple
    m, with sample weight 0 on the padding and m / n on the rest, so the batch's loss,
    sum(weight * loss) / m, and its gradient are those of the n real images. Every batch then
    carries weights (1 where none is padded), as Keras wants one structure for all. Keras' epoch
    means weight that batch by its m rows, so with R replicas the history's epoch loss and accuracy
    may count up to R - 1 images twice; `evaluate` (the stage's test metrics) runs on one device.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        seed: int | None = None,
        split: int | None = None,
        multiple: int = 1,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)  # in order, in this process
        self.images, self.labels, self.seed, self.epoch, self.multiple = images, labels, seed, 0, multiple
        self._order: np.ndarray | None = None  # this epoch's, drawn once (not once per batch)
        edge = len(images) if split is None else split
        starts = [*range(0, edge, batch_size), *range(edge, len(images), batch_size)]
        self.bounds = [*starts, len(images)]

    def order(self) -> np.ndarray:
        if self._order is None:
            n = len(self.images)
            self._order = (
                np.arange(n)
                if self.seed is None
                else np.random.default_rng([self.seed, self.epoch]).permutation(n)
            )
        return self._order

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if index >= len(self):
            raise IndexError(index)
        rows = self.order()[self.bounds[index] : self.bounds[index + 1]]
        if self.multiple == 1:
            return self.images[rows], self.labels[rows]
        padded = -(-len(rows) // self.multiple) * self.multiple
        weights = np.zeros(padded, np.float32)
        weights[: len(rows)] = padded / len(rows)
        rows = np.resize(rows, padded)  # the batch's own first images again
        return self.images[rows], self.labels[rows], weights

    def on_epoch_end(self) -> None:
        self.epoch, self._order = self.epoch + 1, None


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int | None = None, replicas: int = 1
) -> Any:
    """(images (N, H, W, C) float32, one-hot labels (N, K)) -> batches for `fit`/`evaluate`: reshuffled every
    epoch from `seed`, in order without one. tf.data on TensorFlow (its docstring says why it runs as
    it does; BatchShards pads for its replicas), `Batches` elsewhere (padded and weighted for them)."""
    if TENSORFLOW:
        return tf_backend.make_dataset(images, labels, batch_size, seed)
    return Batches(images, labels, batch_size, seed, multiple=replicas)


def evaluation_dataset(
    images: np.ndarray, labels: np.ndarray, replicas: int = 1, batch_size: int = 1024
) -> Any:
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
    if not TENSORFLOW:
        return Batches(images, labels, size, split=even, multiple=replicas)
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

    def call(self, images: Any, training: bool | None = None) -> Any:
        if TENSORFLOW:  # the batch size is a tensor there (tf_backend.shard_batch: pads, slices)
            return tf_backend.shard_batch(self.cnn, images, self.shards, training)
        # JAX traces every batch size apart, so the size is a number and the slices are static
        # (Keras' symbolic build pass, with no size, just needs the output's shape).
        size = images.shape[0]
        if not isinstance(size, int):
            return self.cnn(images, training=training)
        padded = ops.pad(images, [[0, max(self.shards - size, 0)], [0, 0], [0, 0], [0, 0]])
        total = padded.shape[0]
        bounds = [total * k // self.shards for k in range(self.shards + 1)]  # balanced: 96 -> 48 + 48
        pieces = [padded[start:stop] for start, stop in pairwise(bounds)]
        return ops.concatenate([self.cnn(piece, training=training) for piece in pieces], axis=0)[:size]


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
    replicas = distribution.replicas
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
    with tempfile.TemporaryDirectory() as directory, distribution.scope():
        log = Path(directory) / "history.csv"
        history = model.fit(
            make_dataset(*train_data, batch_size, seed=seed, replicas=replicas),
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
    strategy_name: str = "default",
) -> dict[str, Any]:
    """Test loss and accuracy of a CNN from `train_cnn` (built by `build`, as there), under its strategy."""
    if TENSORFLOW:
        # The model's own tf.distribute strategy: a second MirroredStrategy may not touch its variables.
        native = model.distribute_strategy
        strategy = Strategy(strategy_name, native.num_replicas_in_sync, native)
    else:
        strategy = get_strategy(strategy_name)
    if strategy.replicas > 1 and not TENSORFLOW:
        # JAX: on one device, a copy of the trained weights, so the mean is over exactly the images
        # (over replicas Keras would count a padded last batch's rows: `Batches`).
        copy = build(0.0) if build else build_cnn()
        copy.set_weights(model.get_weights())
        compile_cnn(copy, 0.001, from_logits=head_of(copy).outputs_logits)
        model, strategy = copy, get_strategy("default")
    if strategy.replicas > 1:
        # Over replicas, through BatchShards for its padding (a replica left with no image).
        # A copy of the CNN: wrapping the compiled one would bring in its unbuilt metrics.
        with strategy.scope():
            copy = build(0.0) if build else build_cnn()  # dropout is off in evaluation and holds no weights
            copy.set_weights(model.get_weights())
            model = keras.Sequential([keras.Input(copy.input_shape[1:]), BatchShards(copy, 1)])
            compile_cnn(
                model, 0.001, from_logits=head_of(copy).outputs_logits
            )  # evaluation only: the optimizer never steps
    dataset = evaluation_dataset(*data, strategy.replicas)
    with strategy.scope():
        loss, accuracy = model.evaluate(dataset, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}
