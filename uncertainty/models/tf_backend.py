"""The TensorFlow-only pieces, imported only where Keras runs on TensorFlow (uncertainty.models.runtime).

Each piece has a backend-neutral counterpart that JAX uses; TensorFlow keeps these because they are
faster on TensorFlow or because the committed models and outputs were made with them (the default
backend's results stay byte-identical):

* `swish`: the same forward as Keras' swish, with a cheaper hand-written gradient (`tf.custom_gradient`);
* `make_dataset`: tf.data batches in the order tf.data's seeded shuffle gives (the committed models'
  order; numpy cannot reproduce it);
* `shard_batch`: BatchShards' slicing with dynamic shapes, so TensorFlow's executor runs the slices at once;
* `determinism`, `threads`, `strategy`, `compile_function`: op determinism, thread pools, `tf.distribute`,
  `tf.function`;
* `fit_regressors`: the toy regressors' epochs in one `tf.function` loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import keras
import numpy as np
import tensorflow as tf


@tf.custom_gradient
def swish(x: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """x * sigmoid(x): Keras' "swish" forward, bit for bit, with a cheaper gradient.

    TensorFlow's own gradient (tf.nn.silu) recomputes sigmoid(x) and then makes
    five more elementwise passes over the activation map: the training step's
    largest cost after the convolutions (README, Speed). Here the gradient takes
    four passes, from swish'(x) = s + x s (1 - s) = s + y (1 - s), s = sigmoid(x),
    y = x s (the forward output, kept anyway for the next layer's gradient):
    SoftplusGrad(dy, x) is dy * sigmoid(x) in one pass (softplus' = sigmoid), then
    dy * swish'(x) = dy s + y (dy - dy s). The same derivative, rounded differently.
    The forward ops are the ones tf.nn.silu builds, so TensorFlow still fuses them
    into one oneDNN op, and predictions do not change.
    """
    y = x * tf.sigmoid(x)

    def gradient(dy: tf.Tensor) -> tf.Tensor:
        dy_s = tf.raw_ops.SoftplusGrad(gradients=dy, features=x)
        return dy_s + y * (dy - dy_s)

    return y, gradient


def determinism() -> None:
    """Deterministic TensorFlow ops: the same seed gives the same bits."""
    tf.config.experimental.enable_op_determinism()


def threads(intra_op: int | None = None, inter_op: int | None = None) -> dict[str, int]:
    """Set TensorFlow's thread pools where given (before its first op: it refuses later changes) -> both."""
    if intra_op is not None:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op is not None:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def strategy(name: str) -> tf.distribute.Strategy:
    """ "default": the default device; "mirrored": every local GPU, else every logical CPU device."""
    if name == "default":
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def compile_function(
    function: Callable[..., Any], signature: Sequence[Any], jit_compile: bool
) -> Callable[..., Any]:
    """tf.function over `signature` (nested lists of (shape, dtype), None for any size): one trace for every
    batch and chunk size (XLA, if asked for, still compiles once per concrete shape)."""

    def spec(item: Any) -> Any:
        if isinstance(item, list):
            return [spec(x) for x in item]
        shape, dtype = item
        return tf.TensorSpec(shape, dtype)

    return tf.function(function, input_signature=[spec(x) for x in signature], jit_compile=jit_compile)


def run_on_replicas(
    native: tf.distribute.Strategy,
    function: Callable[..., Any],
    frontier: list[list[Any]],
    input_ids: list[Any],
    pass_ids: Any,
) -> list[Any]:
    """function(frontier[r], input_ids[r], pass_ids) on replica r, each on its own slice of the inputs -> the
    replicas' outputs in order."""
    per_replica = native.experimental_distribute_values_from_function
    columns = list(zip(*frontier, strict=True))  # per frontier tensor: its slice on every replica
    result = native.run(
        lambda h, ids, passes: function(h, ids, passes),  # a plain callable: run() unwraps per replica
        args=(
            [
                per_replica(lambda context, column=column: column[context.replica_id_in_sync_group])
                for column in columns
            ],
            per_replica(lambda context: input_ids[context.replica_id_in_sync_group]),
            pass_ids,
        ),
    )
    return list(native.experimental_local_results(result))


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


def shard_batch(cnn: keras.Model, images: tf.Tensor, shards: int, training: bool | None) -> tf.Tensor:
    """BatchShards' call with the batch size a tensor: `shards` balanced slices, concatenated in order.

    oneDNN rejects a convolution over zero images, so a batch smaller than the shard
    count (only ever a last batch) gets blank images, whose outputs are dropped before
    the loss. Padding rather than a tf.cond: the cond's If op, inside the
    steps-per-execution loop, kept the slices from running at once (README, "Speed").
    """
    size = tf.shape(images)[0]
    padded = tf.pad(images, [[0, tf.maximum(shards - size, 0)], [0, 0], [0, 0], [0, 0]])
    total = tf.shape(padded)[0]
    bounds = [total * k // shards for k in range(shards + 1)]  # balanced: 96 -> 48 + 48
    pieces = [padded[start:stop] for start, stop in pairwise(bounds)]
    return tf.concat([cnn(piece, training=training) for piece in pieces], axis=0)[:size]


def fit_regressors(
    x: np.ndarray, y: np.ndarray, models: Mapping[str, keras.Model], epochs: int, learning_rate: float
) -> dict[str, float]:
    """Full-batch Adam on MSE for every model, all epochs inside one compiled loop -> final training MSEs.

    `model.fit` with 20 points spends almost all its time in per-epoch Python
    overhead; the maths here is the same (one full-batch step per epoch, Keras'
    Adam), so the same seeds give the same weights up to float round-off.
    """
    x_t = tf.constant(x, tf.float32)  # (n, 1)
    y_t = tf.constant(y, tf.float32)  # (n, 1)
    pairs = []
    for model in models.values():
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
        pairs.append((model, optimizer))

    def mse(model: keras.Model) -> tf.Tensor:
        return tf.reduce_mean(tf.square(model(x_t, training=True) - y_t))

    @tf.function
    def fit_all() -> None:
        for _ in tf.range(epochs):
            for model, optimizer in pairs:  # unrolled: one step per model per epoch
                with tf.GradientTape() as tape:
                    loss = mse(model)
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    fit_all()
    return {name: float(mse(model)) for name, model in models.items()}
