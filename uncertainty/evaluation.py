"""Three predictors side by side, and the tables that compare them.

Every predictor is reduced to the same shape, a stack of softmax outputs
(S, N, K): the plain CNN is S = 1, MC dropout is S = T stochastic passes of the
dropout CNN, the deep ensemble is S = M member CNNs. Its prediction is the mean
over the stack, and the same metric code scores all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from uncertainty import metrics
from uncertainty.cnn import predict_probs
from uncertainty.mc import MCDropout
from uncertainty.metrics import SCORES


def predict_all(
    images: np.ndarray,
    plain: keras.Model,
    sampler: MCDropout,
    passes: int,
    members: Sequence[keras.Model],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Softmax stacks (S, N, 10) of the three predictors for float32 images (N, 28, 28, 1)."""
    return {
        "plain": predict_probs(plain, images)[None],
        "mc_dropout": sampler.sample(images, passes, progress=progress),
        "ensemble": np.stack([predict_probs(member, images) for member in members]),
    }


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
