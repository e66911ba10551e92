"""The article's CNN: build, compile, predict, and deterministic save/load.

Models are saved as an .npz of their weights plus the small spec they were built
from, never as `.keras` files: a `.keras` archive embeds its save time (a new
hash on every run, churning dvc.lock) and loading one can execute code. Loading
here rebuilds the architecture from the spec in Python and sets the weights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from uncertainty.errors import PipelineError
from uncertainty.io import load_npz, save_npz

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


def build_cnn(dropout_rate: float = 0.0) -> keras.Sequential:
    """The article's CNN (114,954 parameters); Dropout(rate) after each MaxPool and Dense(128).

    rate 0 gives the plain CNN with no Dropout layers at all, so calling it with
    training=True is still deterministic.
    """
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")

    def dropout() -> list[keras.layers.Layer]:
        return [keras.layers.Dropout(dropout_rate)] if dropout_rate > 0 else []

    def conv(filters: int) -> keras.layers.Layer:
        return keras.layers.Conv2D(filters, 3, activation="swish", padding="same")

    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            conv(16),  # (28, 28, 16)
            keras.layers.MaxPooling2D(2),  # (14, 14, 16)
            *dropout(),
            conv(32),  # (14, 14, 32)
            keras.layers.MaxPooling2D(2),  # (7, 7, 32)
            *dropout(),
            conv(64),  # (7, 7, 64)
            keras.layers.MaxPooling2D(2),  # (3, 3, 64)
            *dropout(),
            conv(128),  # (3, 3, 128)
            keras.layers.GlobalMaxPooling2D(),  # (128,)
            keras.layers.Dense(128, activation="swish"),
            *dropout(),
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )


def compile_cnn(model: keras.Model, learning_rate: float, steps_per_execution: int = 1) -> None:
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be >= 1, got {steps_per_execution}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def predict_probs(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Deterministic softmax (dropout off) for float32 images (N, 28, 28, 1) -> (N, 10)."""
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)


def save_cnn(path: str | Path, model: keras.Model, spec: Mapping[str, Any]) -> None:
    """Weights and build spec in one .npz whose bytes depend only on their values."""
    arrays = {f"weight_{index:02d}": np.asarray(w) for index, w in enumerate(model.get_weights())}
    arrays["spec"] = np.frombuffer(json.dumps(dict(spec), sort_keys=True).encode(), dtype=np.uint8)
    save_npz(path, arrays)


def load_cnn(path: str | Path) -> tuple[keras.Model, dict[str, Any]]:
    """Rebuild the CNN from the stored spec and set its weights; no code from the file runs."""
    arrays = load_npz(path, keys=("spec",))
    spec = json.loads(arrays.pop("spec").tobytes())
    model = build_cnn(float(spec["dropout_rate"]))
    weights = [arrays[name] for name in sorted(arrays)]
    expected = [tuple(w.shape) for w in model.get_weights()]
    if [tuple(w.shape) for w in weights] != expected:
        raise PipelineError(f"{path}: weights do not match the CNN architecture; delete it and run dvc repro")
    model.set_weights(weights)
    return model, spec
