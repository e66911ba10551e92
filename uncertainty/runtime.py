"""Where and how reproducibly TensorFlow runs: seeds, op determinism, the distribution strategy.

The strategy is a param (`train.strategy`, `mc_engine.strategy`): "default" runs
on the default device; "mirrored" replicates over every local GPU (or over
logical CPU devices, as the tests do), so more hardware is used without code changes.
"""

from __future__ import annotations

import keras
import tensorflow as tf

STRATEGIES = ("default", "mirrored")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy, TF and Keras, and make TF ops deterministic (same seed => same bits)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def get_strategy(name: str) -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # All local GPUs; without any, every logical CPU device (one unless configured).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
