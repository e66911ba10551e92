"""The classifier's input and target conventions: images as float32 (N, H, W, C) in [0, 1], one-hot labels.

Apart from the data sources (uncertainty.data.sources: files, checks, messages) so that training depends
on these few lines only: editing a source's message never retrains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_model_input(images: np.ndarray, shape: Sequence[int] | None = None) -> np.ndarray:
    """uint8 pixels 0..255, or floats in [0, 1], (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 1].

    `shape`, if given, is the (H, W, C) the images must have (the data's, data/dataset.json).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or (shape is not None and images.shape[1:] != tuple(shape)):
        expected = "(N, H, W) or (N, H, W, C)" if shape is None else f"(N, {', '.join(map(str, shape))})"
        raise ValueError(f"images must be {expected}, got {images.shape}")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if images.size:
        low, high = float(np.min(images)), float(np.max(images))
        # Catches a second scaling (0..255 floats) and NaN: float images are already in [0, 1].
        if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
            raise ValueError(f"float pixel values must be in [0, 1] (uint8 for 0..255), got {low}..{high}")
    return images.astype(np.float32)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels (N,) in 0..num_classes-1 -> float32 (N, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]
