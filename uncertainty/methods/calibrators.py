"""Calibrators beyond temperature: maps of a predictor's probabilities, fitted on labelled images.

Each is fitted as temperature is (uncertainty.methods.temperature): on one seeded half of the test set and
applied to the other, then swapped; images outside the test set get the mean of the two halves' maps.
A calibrator is a `Calibrator`: `fit(probs, labels)` returns the fitted map, probs (..., K) -> (..., K).
Each is declared once in CALIBRATORS, which uncertainty.methods.predictors turns into a predictor kind.

* histogram binning (Zadrozny & Elkan 2001; Guo et al. 2017): each class's probability replaced by the
  share of that class among the calibration images in its equal-width bin;
* isotonic regression (Zadrozny & Elkan 2002): each class's probability by a non-decreasing step
  function fitted by least squares (scikit-learn's IsotonicRegression);
* vector scaling on the log-probabilities (Guo et al. 2017; Dirichlet calibration with a diagonal
  matrix, Kull et al. 2019): softmax(w ⊙ log p + b), w and b fitted by NLL, 2K parameters.

The two binning methods calibrate one class against the rest, then the K maps' outputs are
renormalized to sum to one (an image every map sends to 0 gets the uniform distribution). One-vs-rest,
not top-label: NLL, Brier and the conformal sets need every class's probability, and a top-label map
says nothing of the others. Renormalizing can change the top class, so these are judged on accuracy
too. A binned probability can be 0 for the true class (NLL then takes metrics' 1e-12 floor): on few
calibration images a bin's share is noisy, which lowers the ECE measured in the same bins but costs NLL
and Brier; the report shows both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.optimize
import scipy.special
from pydantic import BaseModel, ConfigDict, Field

Map = Callable[[np.ndarray], np.ndarray]  # probs (..., K) -> calibrated probs (..., K), float64
_FLOOR = 1e-12  # lower clip before taking logs of probabilities (as metrics.NLL_FLOOR)


class Calibrator(Protocol):
    def __call__(self, probs: np.ndarray, labels: np.ndarray, options: BaseModel) -> Map:
        """Fitted on (probs (N, K), labels (N,)): the map."""
        ...


def _rows(probs: np.ndarray) -> np.ndarray:
    return np.asarray(probs, dtype=np.float64).reshape(-1, np.shape(probs)[-1])


def _renormalized(columns: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """One-vs-rest outputs (M, K) as distributions of the given shape; an all-zero row becomes uniform."""
    total = columns.sum(axis=1, keepdims=True)
    uniform = np.full_like(columns, 1.0 / columns.shape[1])
    out = np.divide(columns, total, out=uniform, where=total > 0)
    return out.reshape(shape)


def _check(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if p.ndim != 2 or y.shape != (len(p),) or len(p) == 0:
        raise ValueError(f"need probs (N, K) and labels (N,) with N > 0, got {p.shape} and {y.shape}")
    return p, y


class HistogramOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bins: int = Field(15, ge=1, description="equal-width bins of each class's probability")


def histogram_binning(probs: np.ndarray, labels: np.ndarray, options: HistogramOptions) -> Map:
    p, y = _check(probs, labels)
    n_bins, n_classes = options.bins, p.shape[1]

    def bin_of(values: np.ndarray) -> np.ndarray:
        return np.minimum((values * n_bins).astype(np.int64), n_bins - 1)

    centres = (np.arange(n_bins) + 0.5) / n_bins  # an empty bin keeps its centre: no evidence to move it
    table = np.empty((n_classes, n_bins))
    for k in range(n_classes):
        index = bin_of(p[:, k])
        count = np.bincount(index, minlength=n_bins)
        hits = np.bincount(index, weights=(y == k).astype(np.float64), minlength=n_bins)
        table[k] = np.divide(hits, count, out=centres.copy(), where=count > 0)

    def apply(new: np.ndarray) -> np.ndarray:
        rows = _rows(new)
        columns = np.stack([table[k][bin_of(rows[:, k])] for k in range(n_classes)], axis=1)
        return _renormalized(columns, np.shape(new))

    return apply


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def isotonic(probs: np.ndarray, labels: np.ndarray, options: NoOptions) -> Map:
    # Imported here: scikit-learn takes ~1 s to import, and every stage after inference imports this
    # module through the predictor registry, most of them never fitting an isotonic map.
    from sklearn.isotonic import IsotonicRegression

    p, y = _check(probs, labels)
    fits = [
        IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            p[:, k], (y == k).astype(np.float64)
        )
        for k in range(p.shape[1])
    ]

    def apply(new: np.ndarray) -> np.ndarray:
        rows = _rows(new)
        columns = np.stack([fit.predict(rows[:, k]) for k, fit in enumerate(fits)], axis=1)
        return _renormalized(columns, np.shape(new))

    return apply


def vector_scaling(probs: np.ndarray, labels: np.ndarray, options: NoOptions) -> Map:
    p, y = _check(probs, labels)
    n, n_classes = p.shape
    z = np.log(np.maximum(p, _FLOOR))
    onehot = np.eye(n_classes)[y]

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:n_classes], theta[n_classes:]
        log_q = scipy.special.log_softmax(z * w + b, axis=1)
        gradient = (np.exp(log_q) - onehot) / n  # d mean NLL / d scaled logits
        return float(-(log_q * onehot).sum() / n), np.concatenate(
            [(gradient * z).sum(axis=0), gradient.sum(axis=0)]
        )

    start = np.concatenate([np.ones(n_classes), np.zeros(n_classes)])  # the identity map
    theta = scipy.optimize.minimize(nll, start, jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    w, b = theta[:n_classes], theta[n_classes:]

    def apply(new: np.ndarray) -> np.ndarray:
        return scipy.special.softmax(
            np.log(np.maximum(np.asarray(new, dtype=np.float64), _FLOOR)) * w + b, axis=-1
        )

    return apply


@dataclass(frozen=True)
class Declared:
    fit: Calibrator
    options: type[BaseModel]
    words: str  # what the report says it does to the predictor it calibrates
    keeps_top_class: bool  # False: its accuracy is judged too


CALIBRATORS: dict[str, Declared] = {
    "histogram_binning": Declared(
        histogram_binning, HistogramOptions,
        "histogram binning (each class against the rest, {bins} equal-width bins, renormalized)", False,
    ),
    "isotonic": Declared(
        isotonic, NoOptions, "isotonic regression (each class against the rest, renormalized)", False
    ),
    "vector_scaling": Declared(
        vector_scaling, NoOptions, "vector scaling of the log-probabilities (a weight and a bias per class, by NLL)", False
    ),
}  # fmt: skip
