"""Predictors side by side, and the tables that compare them (NumPy only: no TensorFlow here).

Every predictor is reduced to the same shape, a stack of softmax outputs
(S, N, K): the plain CNN is S = 1, MC dropout is S = T stochastic passes of the
dropout CNN, the deep ensemble is S = M member CNNs, a temperature-scaled
predictor S = 1. Its prediction is the mean over the stack, and the same metric
code scores all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from uncertainty import metrics
from uncertainty.metrics import PREDICTORS, SCORES
from uncertainty.verdicts import apply_temperature, cross_fit_temperature, halves


def quality(stack: np.ndarray, labels: np.ndarray, n_bins: int) -> dict[str, float]:
    """Accuracy, NLL, Brier and ECE of the predictive mean of a stack (S, N, K)."""
    mean = metrics.predictive_mean(stack)
    return {
        "accuracy": metrics.accuracy(mean, labels),
        "nll": metrics.nll_from_passes(stack, labels),
        "brier": metrics.brier(mean, labels),
        "ece": metrics.ece(mean, labels, n_bins),
    }


def scores(predictor: str, stack: np.ndarray) -> dict[str, np.ndarray]:
    """The uncertainty scores (N,) that apply to `predictor` (see SCORES)."""
    every = metrics.uncertainty_scores(stack)
    return {name: every[name] for name in SCORES[predictor]}


def resample(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y(x) on a fixed grid (x increasing), so curves of any length share one CSV for `dvc plots`."""
    return np.interp(grid, x, y)


def wide_csv(columns: Mapping[str, np.ndarray], digits: int = 5) -> str:
    """Columns of equal length -> CSV text with a header (first column is the x axis)."""
    names = list(columns)
    length = len(next(iter(columns.values())))
    rows = (",".join(f"{float(columns[n][i]):.{digits}f}" for n in names) for i in range(length))
    return ",".join(names) + "\n" + "\n".join(rows) + "\n"


def temperature_scaled(
    stacks: Mapping[str, np.ndarray],
    temperatures: Mapping[str, tuple[float, float]],
    split: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """`<name>_ts` stacks (1, N, K): each predictor's predictive mean at its fitted temperature.

    temperatures: predictor -> (T fitted on half a, T fitted on half b) of the test set.
    split: for test images, the halves (a, b) as indices into these N images: half a is scaled
    with the T fitted on half b and vice versa (cross-fitting, as in the verdicts stage).
    None (other images: OOD): the geometric mean of the two temperatures.
    """
    scaled = {}
    for name, (t_a, t_b) in temperatures.items():
        mean = stacks[name].mean(0)
        if split is None:
            out = apply_temperature(mean, float(np.sqrt(t_a * t_b)))
        else:
            a, b = split
            out = np.empty(mean.shape, dtype=np.float64)
            out[a] = apply_temperature(mean[a], t_b)
            out[b] = apply_temperature(mean[b], t_a)
        scaled[f"{name}_ts"] = out.astype(np.float32)[None]
    return scaled


def fitted_temperatures(
    stacks: Mapping[str, np.ndarray], labels: np.ndarray, split: tuple[np.ndarray, np.ndarray]
) -> dict[str, tuple[float, float]]:
    """Per predictor, the temperatures fitted on each half of the test set (cross-fitting).

    The same function, split and predictions as the verdicts stage's first seed of each predictor,
    so the temperatures are the ones in reports/metrics/temperature.json; fitted here so that the
    evaluate, ood and shift stages need only the test-set predictions (a sweep stays cheap).
    """
    return {name: cross_fit_temperature(stacks[name].mean(0), labels, split)[1] for name in PREDICTORS}


def test_split(n_images: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The verdicts stage's cross-fitting halves of the n_test test images, restricted to the first n_images."""
    a, b = halves(n_test, seed)
    return a[a < n_images], b[b < n_images]
