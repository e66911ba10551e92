"""Inputs the CNNs were not trained on, made for the data's image shape: seeded noise, rotated test images.

The real OOD sets come with the data (uncertainty.data.contract, data/ood.npz); noise is seeded; rotation
is linear interpolation about the image centre (dataset shift, Ovadia et al. 2019).
Shapes: model input float32 (N, H, W, C) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage

from uncertainty.core.schema.ood import Ood


def noise_images(
    kind: str, count: int, seed: int, shape: Sequence[int], mean: float = 0.5, std: float = 0.25
) -> np.ndarray:
    """Seeded noise images, float32 (count, *shape) in [0, 1], shape (H, W, C).

    "uniform": U[0, 1). "gaussian": Normal(mean, std) clipped to [0, 1] (`mean`, `std` only
    apply here).
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    size = (count, *shape)
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random(size, dtype=np.float32)
    if kind == "gaussian":
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        return np.clip(rng.normal(mean, std, size), 0.0, 1.0).astype(np.float32)
    raise ValueError(f"kind must be 'uniform' or 'gaussian', got {kind!r}")


def rotate_images(images: np.ndarray, angle_degrees: float) -> np.ndarray:
    """Rotate every image by `angle_degrees` (counter-clockwise as displayed) about its centre.

    Args:
        images: float32 (N, H, W, C) in [0, 1].

    Returns:
        float32 (N, H, W, C) in [0, 1]; corners rotated in from outside are 0. 90 degrees
        equals np.rot90(images, 1, axes=(1, 2)).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got {images.shape}")
    if angle_degrees == 0:
        # Exact copy: interpolation would still be exact here, but this is cheaper and certain.
        return images.copy()
    rotated = scipy.ndimage.rotate(
        images, angle_degrees, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0
    )
    # Linear interpolation stays within the input range, but rounding can step just outside it.
    return np.clip(rotated, 0.0, 1.0).astype(np.float32, copy=False)


def noise_sets(p: Ood, shape: Sequence[int]) -> dict[str, np.ndarray]:
    """The noise sets (uncertainty.core.vocabulary.NOISE_SETS) -> float32 images (n, *shape) in [0, 1], from `ood`."""
    return {
        "uniform_noise": noise_images("uniform", p.uniform_noise, p.seed, shape),
        "gaussian_noise": noise_images(
            "gaussian", p.gaussian_noise, p.seed + 1, shape, p.gaussian_mean, p.gaussian_std
        ),
    }
