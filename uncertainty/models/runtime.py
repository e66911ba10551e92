"""Where and how reproducibly TensorFlow runs: seeds, op determinism, the distribution strategy.

The strategy is a param (`train.strategy`, `mc_engine.strategy`): "default" runs
on the default device; "mirrored" replicates over every local GPU (or over
logical CPU devices, as the tests do), so more hardware is used without code changes.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

STRATEGIES = ("default", "mirrored")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy, TF and Keras, and make TF ops deterministic (same seed => same bits)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def set_threads_for_shards(batch_shards: int) -> dict[str, int]:
    """Threads for `train.batch_shards`: the cores shared among the shards -> {intra_op, inter_op}.

    One shard per group of cores: on 2 cores and 2 shards, one thread per op and two
    ops at once. Must run before TensorFlow's first op (it refuses later changes).
    With one shard, TensorFlow's defaults stay (0 = one thread per core).
    """
    if batch_shards > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        tf.config.threading.set_intra_op_parallelism_threads(max(1, cores // batch_shards))
        tf.config.threading.set_inter_op_parallelism_threads(max(2, batch_shards))
    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def get_strategy(name: str) -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # All local GPUs; without any, every logical CPU device (one unless configured).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
