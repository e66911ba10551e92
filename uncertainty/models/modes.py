"""A classifier's accuracy in inference mode and, with BatchNorm, in training mode, the model left untouched.

Inference mode is how every later stage runs a CNN: Dropout off, BatchNormalization on its moving
statistics. Training mode here changes BatchNorm alone: each batch is normalized by its own mean and
variance (over every axis but the channel axis), then scaled and shifted by the layer's gamma and beta,
as Keras' training call does, but the moving statistics are not updated (Keras' own training call
would update them) and Dropout stays off. The graph is run node by node (uncertainty.models.classifier.walk),
through nested models, so a BatchNorm anywhere is found. The health stage sets the two side by side
(uncertainty.evaluation.health): moving statistics that have not settled show as a large difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from uncertainty.models.classifier import NORMALIZATION, graph_of, has_batch_norm, infer_mode, walk


def batch_normalized(layer: keras.layers.BatchNormalization, x: Any) -> Any:
    """`layer` applied to `x` with the batch's own mean and variance (training mode), updating nothing."""
    rank = len(x.shape)
    channels = [a % rank for a in (layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis])]
    reduced = [a for a in range(rank) if a not in channels]
    x = keras.ops.cast(x, "float32")
    mean, variance = keras.ops.moments(x, axes=reduced, keepdims=True)
    shape = [x.shape[a] if a in channels else 1 for a in range(rank)]
    y = (x - mean) * keras.ops.rsqrt(variance + layer.epsilon)
    if layer.scale:
        y = y * keras.ops.reshape(keras.ops.cast(layer.gamma, "float32"), shape)
    if layer.center:
        y = y + keras.ops.reshape(keras.ops.cast(layer.beta, "float32"), shape)
    return y


def training_mode_call(operation: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """For `walk`: BatchNorm on the batch's statistics, a nested model walked the same way, the rest as
    `infer_mode` runs it."""
    if isinstance(operation, NORMALIZATION):
        return batch_normalized(operation, args[0])
    if isinstance(operation, keras.Model) and has_batch_norm(operation):
        inner = walk(operation, keras.tree.flatten(args), training_mode_call)
        outputs = [inner[id(x)] for x in graph_of(operation).outputs]
        return outputs[0] if len(outputs) == 1 else outputs
    return infer_mode(operation, args, kwargs)


def _accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predicted == np.asarray(labels))) if len(labels) else float("nan")


def inference_accuracy(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 1024
) -> float:
    """The share of `images` whose highest output is their label, the model in inference mode."""
    outputs = model.predict(images, batch_size=batch_size, verbose=0)
    return _accuracy(np.argmax(outputs, axis=1), labels)


def training_mode_accuracy(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int
) -> float:
    """The same share with every BatchNorm on each batch's own statistics (batches of `batch_size`, as in
    training), the model's weights and moving statistics unchanged."""
    output = graph_of(model).outputs[0]
    predicted = []
    for start in range(0, len(images), batch_size):
        batch = keras.ops.convert_to_tensor(images[start : start + batch_size])
        values = walk(model, [batch], training_mode_call)
        predicted.append(np.argmax(keras.ops.convert_to_numpy(values[id(output)]), axis=1))
    return _accuracy(np.concatenate(predicted) if predicted else np.zeros(0, np.int64), labels)
