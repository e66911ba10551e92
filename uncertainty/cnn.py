"""The article's CNN: build, compile, predict, and deterministic save/load.

Models are saved as an .npz of their weights plus the small spec they were built
from, never as `.keras` files: a `.keras` archive embeds its save time (a new
hash on every run, churning dvc.lock) and loading one can execute code. Loading
here rebuilds the architecture from the spec in Python and sets the weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from uncertainty.errors import PipelineError
from uncertainty.images import IMAGE_SHAPE, NUM_CLASSES
from uncertainty.io import load_npz, save_npz


@tf.custom_gradient
def swish(x: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """x * sigmoid(x): Keras' "swish" forward, bit for bit, with a cheaper gradient.

    TensorFlow's own gradient (tf.nn.silu) recomputes sigmoid(x) and then makes
    five more elementwise passes over the activation map: the training step's
    largest cost after the convolutions (README, Speed). Here the gradient takes
    four passes, from swish'(x) = s + x s (1 - s) = s + y (1 - s), s = sigmoid(x),
    y = x s (the forward output, kept anyway for the next layer's gradient):
    SoftplusGrad(dy, x) is dy * sigmoid(x) in one pass (softplus' = sigmoid), then
    dy * swish'(x) = dy s + y (dy - dy s). The same derivative, rounded differently.
    The forward ops are the ones tf.nn.silu builds, so TensorFlow still fuses them
    into one oneDNN op, and predictions do not change.
    """
    y = x * tf.sigmoid(x)

    def gradient(dy: tf.Tensor) -> tf.Tensor:
        dy_s = tf.raw_ops.SoftplusGrad(gradients=dy, features=x)
        return dy_s + y * (dy - dy_s)

    return y, gradient


def build_cnn(dropout_rate: float = 0.0, activation: str | Callable[[Any], Any] = swish) -> keras.Sequential:
    """The article's CNN (114,954 parameters); Dropout(rate) after each MaxPool and Dense(128).

    rate 0 gives the plain CNN with no Dropout layers at all, so calling it with
    training=True is still deterministic. `activation` is for the benchmark only:
    "swish" (Keras' own, TensorFlow's gradient) or None (no activation: a bound).
    """
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")

    def dropout() -> list[keras.layers.Layer]:
        return [keras.layers.Dropout(dropout_rate)] if dropout_rate > 0 else []

    def conv(filters: int) -> keras.layers.Layer:
        return keras.layers.Conv2D(filters, 3, activation=activation, padding="same")

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
            keras.layers.Dense(128, activation=activation),
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
