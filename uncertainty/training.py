"""Training the CNNs: a tf.data input pipeline, `model.fit` under the chosen strategy, per-epoch history."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from uncertainty.cnn import build_cnn, compile_cnn
from uncertainty.runtime import get_strategy


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
        shuffle=False,  # the dataset reshuffles itself from the seed; fit's own shuffle would only warn
        verbose=verbose,
    )
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}


def evaluate(model: keras.Model, data: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    loss, accuracy = model.evaluate(make_dataset(*data, 1024), verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")


def history_csv(history: dict[str, list[float]], columns: tuple[str, ...] = HISTORY_COLUMNS) -> str:
    """Per-epoch history -> CSV text `epoch,<columns>` (epochs from 1), 6 decimals: byte-stable."""
    rows = "".join(
        f"{epoch + 1}," + ",".join(f"{history[c][epoch]:.6f}" for c in columns) + "\n"
        for epoch in range(len(history["loss"]))
    )
    return "epoch," + ",".join(columns) + "\n" + rows
