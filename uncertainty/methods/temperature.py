"""Temperature scaling (Guo et al. 2017), cross-fitted on two seeded halves of the test set.

The article trains on all 60,000 training images, so there is no held-out split to fit
on: the temperature of each trained predictor is fitted by NLL on one half of the test
set and applied to the other half, then the halves are swapped, so no image is scored by
a temperature fitted on it. Images outside the test set (OOD sets) are scaled by the
geometric mean of the two temperatures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import scipy.optimize
import scipy.special

# Lower clip before taking logs of probabilities (as metrics.NLL_FLOOR).
_FLOOR = 1e-12
# Temperatures are searched in [exp(-4), exp(4)] ~ [0.018, 55]: far wider than any fitted here.
_LOG_T_BOUNDS = (-4.0, 4.0)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T) over the last axis; (..., K) -> float64. T > 1 softens, T < 1 sharpens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _FLOOR))
    return scipy.special.softmax(logits / temperature, axis=-1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the NLL of softmax(log p / T) on (probs, labels)."""
    logits = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _FLOOR))
    labels = np.asarray(labels)
    if len(logits) == 0 or len(labels) != len(logits):
        raise ValueError(f"need as many labels as rows of probs (> 0), got {len(labels)} and {len(logits)}")

    def nll(log_t: float) -> float:
        log_probs = scipy.special.log_softmax(logits / np.exp(log_t), axis=1)
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    result = scipy.optimize.minimize_scalar(
        nll, bounds=_LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-6}
    )
    return float(np.exp(result.x))


def halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of range(n) into two halves (sorted index arrays)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def cross_fit(
    probs: np.ndarray, labels: np.ndarray, split: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float]:
    """(T fitted on half a, T fitted on half b) of the test set."""
    a, b = split
    return fit_temperature(probs[a], labels[a]), fit_temperature(probs[b], labels[b])


def scale(
    probs: np.ndarray, temperatures: tuple[float, float], split: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Temperature-scaled probs (..., N, K) -> float64.

    split: for test images, the halves (a, b) as indices into these N images: half a is scaled
    with the T fitted on half b and vice versa. None (images outside the test set): the
    geometric mean of the two temperatures.
    """
    t_a, t_b = temperatures
    if split is None:
        return apply_temperature(probs, float(np.sqrt(t_a * t_b)))
    return cross_apply(
        probs, functools.partial(apply_temperature, temperature=t_a),
        functools.partial(apply_temperature, temperature=t_b), split,
    )  # fmt: skip


def cross_apply(
    probs: np.ndarray,
    fitted_on_a: Callable[[np.ndarray], np.ndarray],
    fitted_on_b: Callable[[np.ndarray], np.ndarray],
    split: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """probs (..., N, K) -> float64, half a's images by the map fitted on half b and half b's by half a's:
    no image is mapped by what was fitted on it (temperature scaling, and every calibrator)."""
    a, b = split
    out = np.empty(np.shape(probs), dtype=np.float64)
    out[..., a, :] = fitted_on_b(np.asarray(probs)[..., a, :])
    out[..., b, :] = fitted_on_a(np.asarray(probs)[..., b, :])
    return out


def restrict(split: tuple[np.ndarray, np.ndarray], n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """The halves of the test set restricted to its first n_images (the rotated subset keeps its indices)."""
    a, b = split
    return a[a < n_images], b[b < n_images]
