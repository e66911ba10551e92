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
        return tf.distribute.MirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int | None = None
) -> tf.data.Dataset:
    """(images (N, 28, 28, 1) float32, one-hot labels (N, 10)) -> batched, prefetched dataset.

    With a seed the order is reshuffled every epoch from that seed (same seed =>
    same order, run after run); without one the order is kept (evaluation).
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if seed is not None:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    # Batching before prefetch: the next batch is ready while the cores run this one.
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


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
