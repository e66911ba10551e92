"""Training the CNNs: a tf.data input pipeline, a distribution strategy, per-epoch history.

The strategy is a param (`train.strategy`): "default" runs on the default
device; "mirrored" replicates the model over every local GPU (or over logical
CPU devices, as the tests do), so more hardware is used without code changes.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from uncertainty.models import build_cnn, compile_cnn

STRATEGIES = ("default", "mirrored")


def get_strategy(name: str) -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # All local GPUs; without any, every logical CPU device (one unless configured).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")


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
    """
    images_t, labels_t = tf.constant(images), tf.constant(labels)
    indices = tf.data.Dataset.range(len(images))
    if seed is not None:
        indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return (
        indices.batch(batch_size)
        .map(lambda i: (tf.gather(images_t, i), tf.gather(labels_t, i)), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def train_cnn(
    dropout_rate: float,
    seed: int,
    train_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    strategy: str = "default",
    verbose: int = 2,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build and fit one CNN; returns the model and its per-epoch history."""
    with get_strategy(strategy).scope():
        model = build_cnn(dropout_rate)
        compile_cnn(model, learning_rate)
    history = model.fit(
        make_dataset(*train_data, batch_size, seed=seed),
        epochs=epochs,
        validation_data=make_dataset(*validation_data, 1024),
        verbose=verbose,
    )
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}


def evaluate(model: keras.Model, data: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    loss, accuracy = model.evaluate(make_dataset(*data, 1024), verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}
