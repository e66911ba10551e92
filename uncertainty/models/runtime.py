"""Where and how reproducibly Keras runs: the backend, seeds, op determinism, threads, the distribution strategy.

Keras 3 runs here on TensorFlow (the default, which made the committed models and outputs) or on JAX
(`KERAS_BACKEND=jax`, Keras' fastest backend on GPUs; machines built for JAX often have no TensorFlow).
Everything backend-specific is chosen in this module: TensorFlow's pieces live in
uncertainty.models.tf_backend, imported only on TensorFlow; on JAX the same jobs are done by keras.ops,
`jax.jit` and Keras' distribution API. The backend is part of "the same machine" of the bit-identity
promise: the two compile the same model to different kernels, so their outputs agree to round-off, not
to the bit (tests/test_backends.py measures by how much), and every machine record names it.

The strategy is a param (`train.strategy`, `mc_engine.strategy`): "default" runs on the default device;
"mirrored" replicates over every local GPU (without one, over the logical CPU devices, as the tests do):
on TensorFlow tf.distribute's MirroredStrategy, on JAX Keras' `DataParallel` for training and one slice
of each batch per device for MC dropout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from uncertainty.core.errors import PipelineError

BACKEND = keras.backend.backend()
BACKENDS = ("tensorflow", "jax")
STRATEGIES = ("default", "mirrored")
TENSORFLOW = BACKEND == "tensorflow"

if TENSORFLOW:
    from uncertainty.models import tf_backend


def check_backend() -> None:
    if BACKEND not in BACKENDS:
        raise PipelineError(
            f"KERAS_BACKEND={BACKEND}: not supported by the pipeline; expected tensorflow (the default) or jax"
        )


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and Keras (and TensorFlow's ops: deterministic there; XLA's CPU kernels are already)."""
    check_backend()
    keras.utils.set_random_seed(seed)
    if TENSORFLOW:
        tf_backend.determinism()


def set_threads_for_shards(batch_shards: int) -> dict[str, int]:
    """Threads for `train.batch_shards`: the cores shared among the shards -> {intra_op, inter_op}.

    One shard per group of cores: on 2 cores and 2 shards, one thread per op and two
    ops at once. Must run before TensorFlow's first op (it refuses later changes).
    With one shard, TensorFlow's defaults stay (0 = one thread per core). JAX has no
    such setting (XLA's CPU client sizes its own pool): {} there.
    """
    if not TENSORFLOW:
        return {}
    if batch_shards > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return tf_backend.threads(max(1, cores // batch_shards), max(2, batch_shards))
    return tf_backend.threads()


@dataclass(frozen=True)
class Strategy:
    """A distribution strategy on the running backend: how many replicas, and the scope that places variables."""

    name: str
    replicas: int
    native: Any  # tf.distribute.Strategy on TensorFlow; keras.distribution.DataParallel (or None) on JAX
    devices: tuple[Any, ...] = ()  # JAX: the devices of the replicas

    def scope(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if self.native is None else self.native.scope()


def jax_devices() -> list[Any]:
    """Every local GPU, else every CPU device (XLA_FLAGS=--xla_force_host_platform_device_count=R makes R)."""
    import jax

    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend
        return list(jax.devices("cpu"))


def get_strategy(name: str) -> Strategy:
    check_backend()
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
    if TENSORFLOW:
        native = tf_backend.strategy(name)
        return Strategy(name, native.num_replicas_in_sync, native)
    if name == "default":
        return Strategy(name, 1, None)
    devices = jax_devices()
    if len(devices) == 1:
        return Strategy(name, 1, None, tuple(devices))
    return Strategy(name, len(devices), keras.distribution.DataParallel(devices=devices), tuple(devices))


def compile_function(
    function: Callable[..., Any], signature: Sequence[Any], jit_compile: bool
) -> Callable[..., Any]:
    """`function` compiled: tf.function over `signature` (nested lists of (shape, dtype)) on TensorFlow, with
    XLA where jit_compile; jax.jit on JAX (always XLA; it compiles once per concrete shape)."""
    if TENSORFLOW:
        return tf_backend.compile_function(function, signature, jit_compile)
    import jax

    return jax.jit(function)


def run_on_replicas(
    strategy: Strategy,
    function: Callable[..., Any],
    frontier: list[list[Any]],
    input_ids: list[Any],
    pass_ids: Any,
) -> list[Any]:
    """function(frontier[r], input_ids[r], pass_ids) on replica r -> the replicas' outputs in order.

    On JAX each slice is placed on its device and the compiled function runs there; the calls are
    dispatched asynchronously, so the devices work at once."""
    if TENSORFLOW:
        return tf_backend.run_on_replicas(strategy.native, function, frontier, input_ids, pass_ids)
    import jax

    outputs = []
    for device, h, ids in zip(strategy.devices, frontier, input_ids, strict=True):
        placed = jax.device_put((h, ids, pass_ids), device)
        outputs.append(function(*placed))
    return outputs
