"""The MC dropout sampling engine every stage uses for stochastic passes.

The article calls `model(x, training=True)` T times in a Python loop. Here:

* the deterministic layers before the first Dropout run once per input, and
  their output is reused by every pass;
* many passes run in one compiled call: the prefix output (B, ...) is tiled to
  (k*B, ...) for a chunk of k passes, so memory stays bounded for any T;
* each Dropout mask comes from a counter-based hash of (seed, dropout layer,
  pass index, input index, unit index). A pass's masks therefore do not depend
  on how passes or inputs are chunked, so any chunk size gives the same array.

Masks follow Keras' Dropout exactly: a unit is kept with probability 1 - rate
and kept units are scaled by 1 / (1 - rate). Only Dropout layers are made
stochastic; every other layer runs with training=False (BatchNormalization, if
a later model has it, keeps its moving statistics).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from uncertainty.models.classifier import DROPOUT, Head, dropout_layers, graph_of, infer_mode, nodes, walk
from uncertainty.models.runtime import get_strategy

# The Dropout layers whose noise is shared over positions (one draw per channel).
SpatialDropout = (keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D, keras.layers.SpatialDropout3D)

# Salts so that the four counters never feed the hash the same stream.
_SALT_LAYER, _SALT_PASS, _SALT_INPUT, _SALT_UNIT = 0x68E31DA4, 0xB5297A4D, 0x1B56C4E9, 0x3C6EF372


def _hash32(x: tf.Tensor) -> tf.Tensor:
    """'lowbias32' integer hash (C. Wellons): uint32 -> well-mixed uint32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def dropout_uniform(
    seed: int, layer: int, pass_ids: tf.Tensor, input_ids: tf.Tensor, units: int
) -> tf.Tensor:
    """Uniform [0, 1) numbers (k, B, units) for dropout layer `layer`; pure function of its arguments."""
    base = _hash32(tf.constant(seed, tf.uint32) ^ _hash32(tf.constant(layer + _SALT_LAYER, tf.uint32)))
    per_pass = _hash32(base ^ _hash32(tf.cast(pass_ids, tf.uint32) + _SALT_PASS))  # (k,)
    per_input = _hash32(tf.cast(input_ids, tf.uint32) + _SALT_INPUT)  # (B,)
    stream = _hash32(per_pass[:, None] ^ per_input[None, :])  # (k, B)
    unit = _hash32(tf.cast(tf.range(units), tf.uint32) + _SALT_UNIT)  # (units,)
    bits = _hash32(stream[:, :, None] ^ unit[None, None, :])  # (k, B, units)
    # The top 24 bits as a float32 in [0, 1): exactly representable, never 1.0.
    return tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)), tf.float32) * (2.0**-24)


class MCDropout:
    """T stochastic passes of a classifier (uncertainty.models.classifier's contract): `sample(images, T) -> (T, N, K)`.

    Any accepted model, Sequential or Functional, nested models included: every Dropout-family layer
    is sampled, every other layer runs in inference mode (BatchNorm on its moving statistics). The
    graph splits in two: the prefix, every node no Dropout reaches (computed once per batch), and the
    rest, which runs on the prefix tensors it reads, tiled for k passes. A model whose output is
    logits gets a softmax per pass. For a model without Dropout layers every pass is the same
    deterministic prediction (computed once, repeated).
    """

    def __init__(
        self,
        model: keras.Model,
        seed: int,
        chunk_passes: int = 25,
        batch_size: int = 512,
        jit_compile: bool = False,
        strategy: str = "default",
        head: Head | None = None,
    ) -> None:
        if chunk_passes < 1 or batch_size < 1:
            raise ValueError(f"chunk_passes and batch_size must be >= 1, got {chunk_passes}, {batch_size}")
        self.seed = int(seed)
        self.chunk_passes = int(chunk_passes)
        self.batch_size = int(batch_size)
        # "mirrored": each chunk's inputs are split over the replicas (GPUs, or logical CPUs).
        self.strategy = get_strategy(strategy)
        graph = graph_of(model)
        if graph is None:
            raise ValueError(f"{model.name}: a subclassed model has no graph for MC dropout")
        self._graph = graph
        self._logits = head.outputs_logits if head is not None else False
        # A node is stochastic if it samples (a Dropout layer, or a nested model holding one) or reads a
        # stochastic tensor; the frontier is the deterministic tensors the stochastic nodes read.
        stochastic_tensors: set[int] = set()
        self._stochastic_nodes: set[int] = set()
        frontier: dict[int, Any] = {}
        for node in nodes(graph):
            samples = isinstance(node.operation, keras.layers.Layer) and bool(dropout_layers(node.operation))
            if samples or any(id(x) in stochastic_tensors for x in node.input_tensors):
                self._stochastic_nodes.add(id(node))
                frontier.update({id(x): x for x in node.input_tensors if id(x) not in stochastic_tensors})
                stochastic_tensors.update(id(x) for x in node.outputs)
        output = graph.outputs[0]
        self.stochastic = id(output) in stochastic_tensors
        if not self.stochastic:
            frontier = {id(output): output}
        self._frontier = list(frontier.values())
        # Shapes with None: one trace serves every batch and chunk size (XLA still
        # compiles once per concrete shape, i.e. at most twice: full and last chunk).
        image_spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        self._prefix = tf.function(self._run_prefix, input_signature=[image_spec], jit_compile=jit_compile)
        frontier_specs = [tf.TensorSpec((None, *x.shape[1:]), tf.float32) for x in self._frontier]
        id_spec = tf.TensorSpec((None,), tf.int32)
        self._passes = tf.function(
            self._run_passes, input_signature=[frontier_specs, id_spec, id_spec], jit_compile=jit_compile
        )

    def _run_prefix(self, images: tf.Tensor) -> list[tf.Tensor]:
        values = walk(self._graph, [images], only=lambda node: id(node) not in self._stochastic_nodes)
        found = [values[id(x)] for x in self._frontier]
        if not self.stochastic and self._logits:  # the whole model ran here
            found = [tf.nn.softmax(found[0])]
        return found

    def _run_passes(self, frontier: list[tf.Tensor], input_ids: tf.Tensor, pass_ids: tf.Tensor) -> tf.Tensor:
        """frontier: the prefix's tensors (B, ...) -> softmax of k passes (k, B, classes)."""
        k, b = tf.shape(pass_ids)[0], tf.shape(frontier[0])[0]
        tiled = {}
        for x, h in zip(self._frontier, frontier, strict=True):
            h = tf.repeat(h[None], k, axis=0)  # (k, B, ...)
            tiled[id(x)] = tf.reshape(h, tf.concat([[k * b], tf.shape(h)[2:]], axis=0))  # (k*B, ...)
        dropout_index = itertools.count()  # the Dropout layers numbered in graph order: their masks' keys

        def mc_call(operation: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            if isinstance(operation, DROPOUT):
                return self._drop(operation, args[0], next(dropout_index), input_ids, pass_ids, k * b)
            if isinstance(operation, keras.Model) and dropout_layers(operation):  # a nested model: walk it
                inner = walk(operation, keras.tree.flatten(args), mc_call)
                outputs = [inner[id(x)] for x in graph_of(operation).outputs]
                return outputs[0] if len(outputs) == 1 else outputs
            return infer_mode(operation, args, kwargs)

        stochastic = lambda node: id(node) in self._stochastic_nodes  # noqa: E731
        h = walk(self._graph, [], mc_call, values=tiled, only=stochastic)[id(self._graph.outputs[0])]
        if self._logits:
            h = tf.nn.softmax(h)
        return tf.reshape(h, tf.concat([[k, b], tf.shape(h)[1:]], axis=0))

    def _drop(
        self,
        layer: keras.layers.Dropout,
        h: tf.Tensor,
        index: int,
        input_ids: tf.Tensor,
        pass_ids: tf.Tensor,
        rows: tf.Tensor,
    ) -> tf.Tensor:
        """Keras' Dropout on (k*B, ...) with hashed masks: one mask per pass and input over the layer's noise
        shape (every unit; SpatialDropout: one draw per channel, shared over positions)."""
        if isinstance(layer, SpatialDropout):
            noise = [1 if d == 1 else h.shape[i] for i, d in enumerate(layer._get_noise_shape(h)) if i > 0]
        elif layer.noise_shape is not None:
            noise = [h.shape[i + 1] if d is None else d for i, d in enumerate(layer.noise_shape[1:])]
        else:
            noise = None
        units = int(np.prod(h.shape[1:] if noise is None else noise))
        u = dropout_uniform(self.seed, index, pass_ids, input_ids, units)  # (k, B, units)
        shape = tf.shape(h) if noise is None else tf.concat([[rows], noise], axis=0)
        keep = tf.reshape(tf.cast(u >= layer.rate, h.dtype), shape)
        return h * keep / (1.0 - layer.rate)

    def _chunk(self, h: list[tf.Tensor], input_ids: tf.Tensor, pass_ids: tf.Tensor) -> np.ndarray:
        """One compiled call, or one per replica on contiguous slices of the inputs.

        Masks are keyed on the global input index, so the split never changes a result.
        """
        replicas, n = self.strategy.num_replicas_in_sync, h[0].shape[0]
        if replicas == 1 or n < replicas:
            return self._passes(h, input_ids, pass_ids).numpy()
        sizes = [len(part) for part in np.array_split(np.arange(n), replicas)]
        h_parts, id_parts = [tf.split(x, sizes) for x in h], tf.split(input_ids, sizes)
        per_replica = self.strategy.experimental_distribute_values_from_function
        result = self.strategy.run(
            lambda h, ids, passes: self._passes(
                h, ids, passes
            ),  # a plain callable: run() unwraps per replica
            args=(
                [per_replica(lambda context, x=x: x[context.replica_id_in_sync_group]) for x in h_parts],
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
                probs = h[0].numpy()  # the whole model ran in the prefix
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
