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

Written in keras.ops, so it runs on TensorFlow and JAX alike; the masks are integer
hashes, bit-identical on both (tests/test_backends.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from uncertainty.models.classifier import DROPOUT, Head, dropout_layers, graph_of, infer_mode, nodes, walk
from uncertainty.models.runtime import compile_function, get_strategy, run_on_replicas

Tensor = Any  # a backend tensor: tf.Tensor on TensorFlow, jax.Array on JAX

# The Dropout layers whose noise is shared over positions (one draw per channel).
SpatialDropout = (keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D, keras.layers.SpatialDropout3D)

# Salts so that the four counters never feed the hash the same stream.
_SALT_LAYER, _SALT_PASS, _SALT_INPUT, _SALT_UNIT = 0x68E31DA4, 0xB5297A4D, 0x1B56C4E9, 0x3C6EF372


def _u32(value: Any) -> Tensor:
    return ops.convert_to_tensor(value, "uint32")


def _hash32(x: Tensor) -> Tensor:
    """'lowbias32' integer hash (C. Wellons): uint32 -> well-mixed uint32 (products wrap modulo 2**32)."""
    x = ops.bitwise_xor(x, ops.right_shift(x, _u32(16)))
    x = x * _u32(0x7FEB352D)
    x = ops.bitwise_xor(x, ops.right_shift(x, _u32(15)))
    x = x * _u32(0x846CA68B)
    return ops.bitwise_xor(x, ops.right_shift(x, _u32(16)))


def dropout_uniform(seed: int, layer: int, pass_ids: Tensor, input_ids: Tensor, units: int) -> Tensor:
    """Uniform [0, 1) numbers (k, B, units) for dropout layer `layer`; pure function of its arguments."""
    base = _hash32(ops.bitwise_xor(_u32(seed), _hash32(_u32(layer + _SALT_LAYER))))
    per_pass = _hash32(
        ops.bitwise_xor(base, _hash32(ops.cast(pass_ids, "uint32") + _u32(_SALT_PASS)))
    )  # (k,)
    per_input = _hash32(ops.cast(input_ids, "uint32") + _u32(_SALT_INPUT))  # (B,)
    stream = _hash32(ops.bitwise_xor(per_pass[:, None], per_input[None, :]))  # (k, B)
    unit = _hash32(ops.cast(ops.arange(units, dtype="int32"), "uint32") + _u32(_SALT_UNIT))  # (units,)
    bits = _hash32(ops.bitwise_xor(stream[:, :, None], unit[None, None, :]))  # (k, B, units)
    # The top 24 bits as a float32 in [0, 1): exactly representable, never 1.0.
    return ops.cast(ops.right_shift(bits, _u32(8)), "float32") * (2.0**-24)


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
        # Shapes with None: on TensorFlow one trace serves every batch and chunk size (XLA still
        # compiles once per concrete shape, i.e. at most twice: full and last chunk); jax.jit compiles
        # once per concrete shape.
        image_spec = ((None, *model.input_shape[1:]), "float32")
        self._prefix = compile_function(self._run_prefix, [image_spec], jit_compile)
        frontier_specs = [((None, *x.shape[1:]), "float32") for x in self._frontier]
        id_spec = ((None,), "int32")
        self._passes = compile_function(self._run_passes, [frontier_specs, id_spec, id_spec], jit_compile)

    def _run_prefix(self, images: Tensor) -> list[Tensor]:
        values = walk(self._graph, [images], only=lambda node: id(node) not in self._stochastic_nodes)
        found = [values[id(x)] for x in self._frontier]
        if not self.stochastic and self._logits:  # the whole model ran here
            found = [ops.softmax(found[0])]
        return found

    def _run_passes(self, frontier: list[Tensor], input_ids: Tensor, pass_ids: Tensor) -> Tensor:
        """frontier: the prefix's tensors (B, ...) -> softmax of k passes (k, B, classes)."""
        k, b = ops.shape(pass_ids)[0], ops.shape(frontier[0])[0]
        tiled = {}
        for x, h in zip(self._frontier, frontier, strict=True):
            h = ops.repeat(h[None], k, axis=0)  # (k, B, ...)
            tiled[id(x)] = ops.reshape(h, (k * b, *ops.shape(h)[2:]))  # (k*B, ...)
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
            h = ops.softmax(h)
        return ops.reshape(h, (k, b, *ops.shape(h)[1:]))

    def _drop(
        self,
        layer: keras.layers.Dropout,
        h: Tensor,
        index: int,
        input_ids: Tensor,
        pass_ids: Tensor,
        rows: Any,
    ) -> Tensor:
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
        shape = ops.shape(h) if noise is None else (rows, *noise)
        keep = ops.reshape(ops.cast(u >= layer.rate, h.dtype), shape)
        return h * keep / (1.0 - layer.rate)

    def _chunk(self, h: list[Tensor], input_ids: np.ndarray, pass_ids: np.ndarray) -> np.ndarray:
        """One compiled call, or one per replica on contiguous slices of the inputs.

        Masks are keyed on the global input index, so the split never changes a result.
        """
        replicas, n = self.strategy.replicas, len(input_ids)
        if replicas == 1 or n < replicas:
            return ops.convert_to_numpy(
                self._passes(h, ops.convert_to_tensor(input_ids), ops.convert_to_tensor(pass_ids))
            )
        bounds = np.cumsum([0, *(len(part) for part in np.array_split(np.arange(n), replicas))])
        slices = [slice(start, stop) for start, stop in itertools.pairwise(bounds)]
        frontier = [[x[part] for x in h] for part in slices]
        ids = [ops.convert_to_tensor(input_ids[part]) for part in slices]
        outputs = run_on_replicas(self.strategy, self._passes, frontier, ids, ops.convert_to_tensor(pass_ids))
        return np.concatenate([ops.convert_to_numpy(part) for part in outputs], axis=1)

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
            batch = images[start : start + self.batch_size]
            h = self._prefix(ops.convert_to_tensor(batch))
            input_ids = np.arange(start, start + len(batch), dtype=np.int32)
            if not self.stochastic:
                probs = ops.convert_to_numpy(h[0])  # the whole model ran in the prefix
                if out is None:
                    out = np.empty((passes, len(images), probs.shape[-1]), np.float32)
                out[:, start : start + len(probs)] = probs[None]
                continue
            for first in range(0, passes, self.chunk_passes):
                pass_ids = np.arange(
                    first_pass + first, first_pass + min(first + self.chunk_passes, passes), dtype=np.int32
                )
                probs = self._chunk(h, input_ids, pass_ids)  # (k, B, classes)
                if out is None:
                    out = np.empty((passes, len(images), probs.shape[-1]), np.float32)
                out[first : first + probs.shape[0], start : start + probs.shape[1]] = probs
            if progress is not None:
                progress(step + 1, total)
        return out  # type: ignore[return-value]  # set on the first batch
