"""The article's toy regression: a noisy line and three seeded two-layer regressors trained on it."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf


def linear_data(
    n_points: int, slope: float, intercept: float, noise_mean: float, noise_std: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A noisy line: x = 0..n_points-1, y = slope*x + intercept + eps, eps ~ Normal(noise_mean, noise_std).

    Returns:
        x, y: float32 (n_points, 1) each.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    x = np.arange(n_points, dtype=np.float64)
    # Computed in float64 and cast once, so y does not carry float32 rounding of each term.
    y = slope * x + intercept + rng.normal(noise_mean, noise_std, n_points)
    return x.astype(np.float32).reshape(-1, 1), y.astype(np.float32).reshape(-1, 1)


def build_regressor(initializer: str, seed: int, units: int = 16) -> keras.Model:
    """Dense(units, relu) -> Dense(1); only the first kernel's initializer differs between models."""
    keras.utils.set_random_seed(seed)
    kernel_initializer = keras.initializers.get(initializer)
    return keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(units, activation="relu", kernel_initializer=kernel_initializer),
            keras.layers.Dense(1),
        ]
    )


def train_regressors(
    x: np.ndarray, y: np.ndarray, models: Mapping[str, keras.Model], epochs: int, learning_rate: float
) -> dict[str, float]:
    """Full-batch Adam on MSE for every model, all epochs inside one compiled loop.

    `model.fit` with 20 points spends almost all its time in per-epoch Python
    overhead; the maths here is the same (one full-batch step per epoch, Keras'
    Adam), so the same seeds give the same weights up to float round-off.
    Returns each model's final training MSE.
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
