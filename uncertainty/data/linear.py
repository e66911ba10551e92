"""The article's toy regression data: a noisy line (docs/article.md 1.1)."""

from __future__ import annotations

import numpy as np


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
