"""The article's CNN, the contract of any other architecture, and compile, predict, deterministic save/load.

An architecture is a builder, `function(input_shape, num_classes, dropout_rate) -> keras.Model`, named in
params.yaml as a file of the repository and a function in it (train.builder: DVC depends on the file,
so editing it retrains exactly the models built with it); `build_cnn` is the article's. The model
it returns is held to uncertainty.models.classifier's contract: any Sequential or Functional model with one
image input and one output from a last Dense(K), softmax or logits; MC dropout samples its
Dropout-family layers.

Models are saved as an .npz of their weights plus the small spec they were built
from, never as `.keras` files: a `.keras` archive embeds its save time (a new
hash on every run, churning dvc.lock) and loading one can execute code. Loading
here rebuilds the architecture from the spec in Python and sets the weights.
"""

from __future__ import annotations

import importlib
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.core.io import load_npz, save_npz
from uncertainty.models.classifier import check, dropout_layers, head_of
from uncertainty.models.runtime import TENSORFLOW

if TENSORFLOW:
    from uncertainty.models import tf_backend

Builder = Callable[[tuple[int, ...], int, float], keras.Model]


# The activation of the article's CNN: Keras' swish, with TensorFlow's cheaper hand-written gradient
# where Keras runs on TensorFlow (uncertainty.models.tf_backend.swish: the same forward, bit for bit).
swish: Callable[[Any], Any] = tf_backend.swish if TENSORFLOW else keras.activations.swish


def build_cnn(
    input_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    dropout_rate: float = 0.0,
    activation: str | Callable[[Any], Any] = swish,
) -> keras.Sequential:
    """The article's CNN (114,954 parameters on 28x28x1, 10 classes); Dropout(rate) after each MaxPool and Dense(128).

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
            keras.Input(tuple(input_shape)),
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
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


def load_builder(file: str, function: str) -> Builder:
    """The builder `function` of `file` (a .py file of the repository, imported as its module).

    Raises:
        PipelineError: one line naming train.builder's key: no such file, an import error, no such function,
            or not callable.
    """
    path = Path(file)
    if path.suffix != ".py" or path.is_absolute() or ".." in path.parts:
        raise PipelineError(
            f"params.yaml: train.builder.file: should be a .py file inside the repository, got {file!r}"
        )
    if not path.is_file():
        raise PipelineError(f"params.yaml: train.builder.file: {file}: no such file")
    module_name = ".".join(path.with_suffix("").parts)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # a user's module may raise anything while importing
        raise PipelineError(
            f"params.yaml: train.builder.file: {file} does not import ({type(error).__name__}: {one_line(error)})"
        ) from None
    builder = getattr(module, function, None)
    if builder is None:
        raise PipelineError(f"params.yaml: train.builder.function: {file} has no {function!r}")
    if not callable(builder):
        raise PipelineError(f"params.yaml: train.builder.function: {file}:{function} is not callable")
    return builder  # type: ignore[no-any-return]


def build_model(
    builder: Builder,
    input_shape: Sequence[int],
    num_classes: int,
    dropout_rate: float,
    where: str = "the builder",
) -> keras.Model:
    """builder(input_shape, num_classes, dropout_rate), held to the contract (module docstring)."""
    try:
        model = builder(tuple(input_shape), num_classes, dropout_rate)
    except Exception as error:  # a user's builder may raise anything
        raise PipelineError(
            f"{where}: building the model failed ({type(error).__name__}: {one_line(error)})"
        ) from None
    if not isinstance(model, keras.Model):
        raise PipelineError(f"{where}: returned {type(model).__name__}; expected a keras.Model")
    check(model, where, input_shape, num_classes)
    return model


def import_keras(file: str, input_shape: Sequence[int], num_classes: int, dropout_rate: float) -> keras.Model:
    """A model trained elsewhere (params.yaml train.models.<name>.file), loaded without running code from
    the file (safe mode) and held to the builder contract; `dropout_rate` > 0 iff it has Dropout layers."""
    if not zipfile.is_zipfile(file):  # else Keras reports "File not found"
        raise PipelineError(
            f"{file}: not a .keras archive (a .keras file is a zip); save the model with model.save('<name>.keras')"
        )
    try:
        model = keras.saving.load_model(file, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a damaged or foreign file
        raise PipelineError(
            f"{file}: does not load as a Keras model ({type(error).__name__}: {one_line(error)}); "
            "save it with model.save('<name>.keras')"
        ) from None
    dropouts = len(dropout_layers(model))
    if bool(dropouts) != (dropout_rate > 0):
        raise PipelineError(
            f"{file}: has {dropouts} Dropout layers, but its train.models entry's dropout_rate is {dropout_rate}; "
            "expected > 0 with Dropout layers (MC dropout samples them), 0 without"
        )
    return build_model(lambda *_: model, input_shape, num_classes, dropout_rate, file)


def architecture(
    file: str, function: str, input_shape: Sequence[int], num_classes: int
) -> Callable[[float], keras.Model]:
    """dropout_rate -> the checked model of train.builder for this data (train, inference, the article's stages)."""
    builder = load_builder(file, function)
    return lambda dropout_rate: build_model(
        builder, input_shape, num_classes, dropout_rate, f"{file}:{function}"
    )


def compile_cnn(
    model: keras.Model, learning_rate: float, steps_per_execution: int = 1, from_logits: bool = False
) -> None:
    """Adam and the cross-entropy on one-hot labels; `from_logits` for a model whose output is its logits."""
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be >= 1, got {steps_per_execution}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True)
        if from_logits
        else "categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def predict_probs(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Deterministic softmax (dropout off) for float32 images (N, H, W, C) -> (N, classes); a model whose
    output is logits gets the softmax applied here."""
    outputs = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)
    if head_of(model).outputs_logits:
        return np.asarray(keras.ops.softmax(outputs), dtype=np.float32)
    return outputs


def save_cnn(path: str | Path, model: keras.Model, spec: Mapping[str, Any]) -> None:
    """Weights and build spec in one .npz whose bytes depend only on their values."""
    arrays = {f"weight_{index:02d}": np.asarray(w) for index, w in enumerate(model.get_weights())}
    arrays["spec"] = np.frombuffer(json.dumps(dict(spec), sort_keys=True).encode(), dtype=np.uint8)
    save_npz(path, arrays)


def load_cnn(path: str | Path, build: Callable[[float], keras.Model]) -> tuple[keras.Model, dict[str, Any]]:
    """Rebuild the model by `build` (`architecture`) at the stored spec's dropout rate, or an imported one from
    its stored Keras config (built-in layers only), and set its weights; no code from the file runs."""
    arrays = load_npz(path, keys=("spec",))
    spec = json.loads(arrays.pop("spec").tobytes())
    if "keras_config" in spec:
        model = keras.models.model_from_json(spec["keras_config"])
    else:
        model = build(float(spec["dropout_rate"]))
    weights = [arrays[name] for name in sorted(arrays)]
    expected = [tuple(w.shape) for w in model.get_weights()]
    if [tuple(w.shape) for w in weights] != expected:
        raise PipelineError(
            f"{path}: weights do not match train.builder's architecture; delete it and run dvc repro"
        )
    model.set_weights(weights)
    return model, spec
