"""The MC dropout engine as it was before it walked Keras graphs: a Sequential model's layer list only.

Kept as the benchmark's baseline (benchmarks.bench, `engine_before_after`): the graph engine
(uncertainty.models.mc) must give the same passes bit for bit on the article's CNN, at the same speed
(tests/test_bench.py checks the bits). Its masks are the same hash (uncertainty.models.mc.dropout_uniform).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from uncertainty.models.mc import dropout_uniform
from uncertainty.models.runtime import get_strategy


class SequentialMCDropout:
    """T stochastic passes of a Keras Sequential model: `sample(images, T) -> (T, N, classes)` (the baseline).

    For a model without Dropout layers every pass is the same deterministic
    prediction (computed once, repeated).
    """

    def __init__(
        self,
        model: keras.Sequential,
        seed: int,
        chunk_passes: int = 25,
        batch_size: int = 512,
        jit_compile: bool = False,
        strategy: str = "default",
    ) -> None:
        if chunk_passes < 1 or batch_size < 1:
            raise ValueError(f"chunk_passes and batch_size must be >= 1, got {chunk_passes}, {batch_size}")
        self.seed = int(seed)
        self.chunk_passes = int(chunk_passes)
        self.batch_size = int(batch_size)
        # "mirrored": each chunk's inputs are split over the replicas (GPUs, or logical CPUs).
        self.strategy = get_strategy(
            strategy
        ).native  # tf.distribute: this reference engine is TensorFlow-only
        layers = list(model.layers)
        dropouts = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dropout)]
        first = dropouts[0] if dropouts else len(layers)
        self.stochastic = bool(dropouts)
        self._prefix_layers = layers[:first]
        self._rest_layers = layers[first:]
        # Shapes with None: one trace serves every batch and chunk size (XLA still
        # compiles once per concrete shape, i.e. at most twice: full and last chunk).
        image_spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        self._prefix = tf.function(self._run_prefix, input_signature=[image_spec], jit_compile=jit_compile)
        prefix_shape = self._prefix.get_concrete_function().structured_outputs.shape
        id_spec = tf.TensorSpec((None,), tf.int32)
        self._passes = tf.function(
            self._run_passes,
            input_signature=[tf.TensorSpec((None, *prefix_shape[1:]), tf.float32), id_spec, id_spec],
            jit_compile=jit_compile,
        )

    def _run_prefix(self, images: tf.Tensor) -> tf.Tensor:
        h = images
        for layer in self._prefix_layers:
            h = layer(h, training=False)
        return h

    def _run_passes(self, h: tf.Tensor, input_ids: tf.Tensor, pass_ids: tf.Tensor) -> tf.Tensor:
        """h: prefix output (B, ...) -> softmax of k passes (k, B, classes)."""
        k, b = tf.shape(pass_ids)[0], tf.shape(h)[0]
        h = tf.repeat(h[None], k, axis=0)  # (k, B, ...)
        h = tf.reshape(h, tf.concat([[k * b], tf.shape(h)[2:]], axis=0))  # (k*B, ...)
        dropout_index = 0
        for layer in self._rest_layers:
            if isinstance(layer, keras.layers.Dropout):
                units = int(np.prod(h.shape[1:]))
                u = dropout_uniform(self.seed, dropout_index, pass_ids, input_ids, units)  # (k, B, units)
                keep = tf.reshape(tf.cast(u >= layer.rate, h.dtype), tf.shape(h))
                h = h * keep / (1.0 - layer.rate)
                dropout_index += 1
            else:
                h = layer(h, training=False)
        return tf.reshape(h, tf.concat([[k, b], tf.shape(h)[1:]], axis=0))

    def _chunk(self, h: tf.Tensor, input_ids: tf.Tensor, pass_ids: tf.Tensor) -> np.ndarray:
        """One compiled call, or one per replica on contiguous slices of the inputs.

        Masks are keyed on the global input index, so the split never changes a result.
        """
        replicas = self.strategy.num_replicas_in_sync
        if replicas == 1 or h.shape[0] < replicas:
            return self._passes(h, input_ids, pass_ids).numpy()
        sizes = [len(part) for part in np.array_split(np.arange(h.shape[0]), replicas)]
        h_parts, id_parts = tf.split(h, sizes), tf.split(input_ids, sizes)
        per_replica = self.strategy.experimental_distribute_values_from_function
        result = self.strategy.run(
            lambda h, ids, passes: self._passes(
                h, ids, passes
            ),  # a plain callable: run() unwraps per replica
            args=(
                per_replica(lambda context: h_parts[context.replica_id_in_sync_group]),
                per_replica(lambda context: id_parts[context.replica_id_in_sync_group]),
                pass_ids,
            ),
        )
        return np.concatenate(
            [part.numpy() for part in self.strategy.experimental_local_results(result)], axis=1
        )

    def sample(
        self,
        images: np.ndarray,
        passes: int,
        first_pass: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Softmax outputs of `passes` passes for float32 images (N, H, W, C) -> (T, N, classes).

        Pass t of input i is the same whatever the chunking and whatever other
        inputs are in the call (the input's index in `images` keys its masks).
        """
        if passes < 1:
            raise ValueError(f"passes must be >= 1, got {passes}")
        images = np.asarray(images, dtype=np.float32)
        if len(images) == 0:
            raise ValueError("images is empty: nothing to sample")
        out: np.ndarray | None = None
        total = -(-len(images) // self.batch_size)
        for step, start in enumerate(range(0, len(images), self.batch_size)):
            batch = tf.constant(images[start : start + self.batch_size])
            h = self._prefix(batch)
            input_ids = tf.range(start, start + batch.shape[0], dtype=tf.int32)
            if not self.stochastic:
                probs = h.numpy()  # the whole model ran in the prefix
                if out is None:
                    out = np.empty((passes, len(images), probs.shape[-1]), np.float32)
                out[:, start : start + len(probs)] = probs[None]
                continue
            for first in range(0, passes, self.chunk_passes):
                pass_ids = tf.range(first_pass + first, first_pass + min(first + self.chunk_passes, passes))
                probs = self._chunk(h, input_ids, pass_ids)  # (k, B, classes)
                if out is None:
                    out = np.empty((passes, len(images), probs.shape[-1]), np.float32)
                out[first : first + probs.shape[0], start : start + probs.shape[1]] = probs
            if progress is not None:
                progress(step + 1, total)
        return out  # type: ignore[return-value]  # set on the first batch
