"""The CNN's input and target conventions: images as float32 (N, 28, 28, 1) in [0, 1], one-hot labels.

Apart from the dataset loader (uncertainty.fashion_mnist: files, checksums, messages) so that
training depends on these few lines only: editing a loader's message never retrains.
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Pixel values 0..255 (uint8, or float) (N, 28, 28[, 1]) -> float32 (N, 28, 28, 1) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (IMAGE_SHAPE):
        raise ValueError(f"images must be (N, 28, 28) or (N, 28, 28, 1), got {images.shape}")
    if images.dtype != np.uint8 and images.size:
        low, high = float(np.min(images)), float(np.max(images))
        # Catches a second scaling (input already in [0, 1] would pass, but NaN or 0..65535 not).
        if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 255.0):
            raise ValueError(f"pixel values must be in 0..255, got {low}..{high}")
    return images.astype(np.float32) / np.float32(255.0)


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Integer labels (N,) in 0..num_classes-1 -> float32 (N, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]
