"""The article's toy regression: three seeded two-layer regressors trained on its noisy line (uncertainty.data.linear)."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

from uncertainty.models.runtime import TENSORFLOW

if TENSORFLOW:
    from uncertainty.models import tf_backend


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
    """Full-batch Adam on MSE for every model, one step per epoch -> each model's final training MSE.

    On TensorFlow all epochs run inside one compiled loop (tf_backend.fit_regressors: `model.fit`
    with 20 points spends almost all its time in per-epoch Python overhead). Elsewhere `model.fit`
    runs the same steps as one epoch over `epochs` copies of the data in full batches, with many
    steps per compiled call; the same maths, so the same seeds give the same weights up to round-off.
    """
    if TENSORFLOW:
        return tf_backend.fit_regressors(x, y, models, epochs, learning_rate)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    losses = {}
    for name, model in models.items():
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss="mse", steps_per_execution=min(epochs, 100)
        )
        model.fit(
            np.tile(x, (epochs, 1)),
            np.tile(y, (epochs, 1)),
            batch_size=len(x),
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        losses[name] = float(np.mean(np.square(np.asarray(model(x)) - y)))
    return losses
