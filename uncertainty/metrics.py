"""Uncertainty metrics: calibration, predictive uncertainty scores, OOD detection, selective prediction.

Conventions used throughout:

* `passes` is an array (T, N, K) of softmax outputs from T stochastic forward passes
  (T passes, N inputs, K classes). A deterministic model is simply T = 1.
* `probs` is an array (N, K) of class probabilities, e.g. `predictive_mean(passes)`.
* `labels` is an array (N,) of integer class indices in [0, K).

All arithmetic is done in float64. Bad shapes or values raise `ValueError` with a
message that names the argument, what was expected and what was received.
Scalar metrics are returned as Python floats; per-input scores as (N,) float64 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

# Probabilities are checked to lie in [0, 1] up to this slack (float32 softmax round-off).
_PROB_TOL = 1e-6
# Lower clip for p_t(y) in the NLL, so a zero probability gives -log(1e-12) ~= 27.6, not inf.
_NLL_FLOOR = 1e-12
# Slack when comparing a requested coverage to k/N, so 0.1 * 3 still selects k/N = 0.3.
_COVERAGE_TOL = 1e-12


# --------------------------------------------------------------------------- validation


# The three predictors compared on the whole test set, in report order.
PREDICTORS = ("plain", "mc_dropout", "ensemble")

# Scores that mean something for each predictor: with one softmax there is no
# disagreement to measure (mutual information and variation ratio are 0), and
# percentiles over M = 5 members are not an interval.
SCORES: dict[str, tuple[str, ...]] = {
    "plain": ("one_minus_max_prob", "entropy"),
    "mc_dropout": (
        "one_minus_max_prob",
        "entropy",
        "mutual_information",
        "variation_ratio",
        "interval_width",
    ),
    "ensemble": ("one_minus_max_prob", "entropy", "mutual_information", "variation_ratio"),
}

# Each predictor's predictive mean, temperature-scaled (verdicts.py fits the temperatures): the
# baseline every method must beat. One softmax per input, so only the softmax scores apply.
SCALED_PREDICTORS = tuple(f"{name}_ts" for name in PREDICTORS)
ALL_PREDICTORS = PREDICTORS + SCALED_PREDICTORS
SCORES.update({name: ("one_minus_max_prob", "entropy") for name in SCALED_PREDICTORS})


def _check_probabilities(array: np.ndarray, name: str) -> None:
    """Raise unless every entry is finite and in [0, 1] (up to `_PROB_TOL`)."""
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite probabilities; found NaN or inf")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0 + _PROB_TOL:
        raise ValueError(f"{name} must hold probabilities in [0, 1]; found values in [{low:.6g}, {high:.6g}]")


def _as_passes(passes: Any) -> np.ndarray:
    """`passes` as a float64 (T, N, K) array with T, N, K >= 1 and entries in [0, 1]."""
    array = np.asarray(passes, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(
            f"passes must be a 3-D array (T passes, N inputs, K classes); got shape {array.shape}"
        )
    t, n, k = array.shape
    if t < 1 or n < 1 or k < 1:
        raise ValueError(
            f"passes needs T >= 1 passes, N >= 1 inputs and K >= 1 classes; got shape {array.shape}"
        )
    _check_probabilities(array, "passes")
    return array


def _as_probs(probs: Any) -> np.ndarray:
    """`probs` as a float64 (N, K) array with N, K >= 1 and entries in [0, 1]."""
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"probs must be a 2-D array (N inputs, K classes); got shape {array.shape}")
    n, k = array.shape
    if n < 1 or k < 1:
        raise ValueError(f"probs needs N >= 1 inputs and K >= 1 classes; got shape {array.shape}")
    _check_probabilities(array, "probs")
    return array


def _as_labels(labels: Any, n: int, k: int) -> np.ndarray:
    """`labels` as an int64 (N,) array of class indices in [0, K)."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices; got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"labels has length {array.shape[0]} but there are {n} inputs")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= k:
        raise ValueError(
            f"labels must lie in [0, {k - 1}] for K = {k} classes; found values in [{array.min()}, {array.max()}]"
        )
    return array.astype(np.int64)


def _as_n_bins(n_bins: Any) -> int:
    """`n_bins` as a positive int."""
    is_integer = isinstance(n_bins, (int, np.integer)) and not isinstance(n_bins, (bool, np.bool_))
    if not is_integer or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1; got {n_bins!r}")
    return int(n_bins)


def _as_scores(score: Any, name: str) -> np.ndarray:
    """`score` as a finite float64 1-D array with at least one entry."""
    array = np.asarray(score, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of scores; got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty; need at least one score")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; found NaN or inf")
    return array


def _top_label(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence max_k p_k and whether argmax_k p_k equals the label, per input."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    return confidence, correct


def _entropy_last_axis(p: np.ndarray) -> np.ndarray:
    """-Σ_k p_k log p_k over the last axis, in nats: scipy's `entr` is -x log x with 0·log 0 = 0."""
    return np.sum(scipy.special.entr(p), axis=-1)


# --------------------------------------------------------------------------- predictive performance


def predictive_mean(passes: Any) -> np.ndarray:
    """Predictive distribution p̄ = (1/T) Σ_t p_t, shape (N, K)."""
    return _as_passes(passes).mean(axis=0)


def accuracy(probs: Any, labels: Any) -> float:
    """Fraction of inputs whose argmax class equals the label (ties go to the lowest class index)."""
    p = _as_probs(probs)
    y = _as_labels(labels, *p.shape)
    return float(np.mean(p.argmax(axis=1) == y))


def nll_from_passes(passes: Any, labels: Any) -> float:
    """Mean negative log-likelihood of the predictive mean, (1/N) Σ_n −log p̄_n(y_n), in nats.

    Computed stably in log space as −(logsumexp_t log p_t(y) − log T). Each p_t(y) is
    first clipped below at 1e-12, so a zero probability gives a finite, large NLL
    (at most −log 1e-12 ≈ 27.6 per input) instead of inf.
    """
    p = _as_passes(passes)
    t, n, k = p.shape
    y = _as_labels(labels, n, k)
    log_p = np.log(np.maximum(p[:, np.arange(n), y], _NLL_FLOOR))  # (T, N)
    log_mean = scipy.special.logsumexp(log_p, axis=0) - np.log(t)  # (N,) log p̄_n(y_n)
    return float(-np.mean(log_mean))


def nll(probs: Any, labels: Any) -> float:
    """Mean negative log-likelihood (1/N) Σ_n −log p_n(y_n); p clipped below at 1e-12 (see nll_from_passes)."""
    return nll_from_passes(_as_probs(probs)[None], labels)


def brier(probs: Any, labels: Any) -> float:
    """Multi-class Brier score (1/N) Σ_n Σ_k (p_nk − onehot_nk)², in [0, 2]."""
    p = _as_probs(probs)
    n, k = p.shape
    y = _as_labels(labels, n, k)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


# --------------------------------------------------------------------------- calibration


def reliability_bins(probs: Any, labels: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Reliability diagram data for the top-label confidence max_k p_k.

    Bins are equal-width on [0, 1]: bin b is [edges[b], edges[b+1]), except the last,
    which is closed, so confidence 1.0 falls in the last bin and 0.0 in the first.
    Returns `edges` (n_bins + 1), and per bin `count`, `accuracy` (fraction correct)
    and `confidence` (mean top-label confidence); empty bins have accuracy and
    confidence 0 (their count of 0 tells them apart), so no NaN appears.
    """
    p = _as_probs(probs)
    y = _as_labels(labels, *p.shape)
    bins = _as_n_bins(n_bins)
    confidence, correct = _top_label(p, y)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    correct_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    nonempty = count > 0
    safe_count = np.where(nonempty, count, 1)
    return {
        "edges": edges,
        "count": count.astype(np.int64),
        "accuracy": np.where(nonempty, correct_sum / safe_count, 0.0),
        "confidence": np.where(nonempty, confidence_sum / safe_count, 0.0),
    }


def ece(probs: Any, labels: Any, n_bins: int = 15) -> float:
    """Expected calibration error Σ_b (n_b / N)·|acc_b − conf_b| over `reliability_bins`."""
    bins = reliability_bins(probs, labels, n_bins)
    weights = bins["count"] / bins["count"].sum()
    return float(np.sum(weights * np.abs(bins["accuracy"] - bins["confidence"])))


# --------------------------------------------------------------------------- uncertainty scores


def entropy(probs: Any) -> np.ndarray:
    """Predictive entropy H[p] = −Σ_k p_k log p_k per input, in nats, with 0·log 0 = 0; shape (N,)."""
    return _entropy_last_axis(_as_probs(probs))


def expected_entropy(passes: Any) -> np.ndarray:
    """Expected entropy (1/T) Σ_t H[p_t] per input (aleatoric part), in nats; shape (N,)."""
    return _entropy_last_axis(_as_passes(passes)).mean(axis=0)


def mutual_information(passes: Any) -> np.ndarray:
    """Mutual information H[p̄] − (1/T) Σ_t H[p_t] per input (epistemic part), in nats; shape (N,).

    Clipped at 0 to remove negative float round-off; exactly 0 when T = 1.
    """
    p = _as_passes(passes)
    t, n, _ = p.shape
    if t == 1:
        return np.zeros(n)
    total = _entropy_last_axis(p.mean(axis=0))
    aleatoric = _entropy_last_axis(p).mean(axis=0)
    return np.maximum(total - aleatoric, 0.0)


def variation_ratio(passes: Any) -> np.ndarray:
    """Variation ratio 1 − (votes for the modal class among the T per-pass argmaxes) / T; shape (N,)."""
    p = _as_passes(passes)
    t, _, k = p.shape
    votes = p.argmax(axis=2)  # (T, N)
    counts = np.sum(votes[:, :, None] == np.arange(k), axis=0)  # (N, K)
    return 1.0 - counts.max(axis=1) / t


def interval_width(passes: Any, low: float = 2.5, high: float = 97.5) -> np.ndarray:
    """Width of the [low, high] percentile interval, over passes, of p_t(ĉ) where ĉ = argmax p̄; shape (N,).

    Percentiles use numpy's default linear interpolation; the width is 0 when T = 1.
    """
    p = _as_passes(passes)
    if not (0.0 <= low <= high <= 100.0):
        raise ValueError(
            f"need 0 <= low <= high <= 100 for the percentile interval; got low={low}, high={high}"
        )
    n = p.shape[1]
    top = p.mean(axis=0).argmax(axis=1)
    top_probs = p[:, np.arange(n), top]  # (T, N)
    lower, upper = np.percentile(top_probs, [low, high], axis=0)
    return upper - lower


def uncertainty_scores(passes: Any) -> dict[str, np.ndarray]:
    """All per-input uncertainty scores, higher = more uncertain, each of shape (N,).

    Keys: "one_minus_max_prob" (1 − max_k p̄_k), "entropy" (H[p̄]), "mutual_information",
    "variation_ratio", "interval_width".
    """
    p = _as_passes(passes)
    mean = p.mean(axis=0)
    return {
        "one_minus_max_prob": 1.0 - mean.max(axis=1),
        "entropy": entropy(mean),
        "mutual_information": mutual_information(p),
        "variation_ratio": variation_ratio(p),
        "interval_width": interval_width(p),
    }


# --------------------------------------------------------------------------- out-of-distribution detection


def _ood_labels_and_scores(score_in: Any, score_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels (1 = out-of-distribution) and the concatenated uncertainty scores."""
    inside = _as_scores(score_in, "score_in")
    outside = _as_scores(score_out, "score_out")
    is_out = np.concatenate(
        [np.zeros(inside.shape[0], dtype=np.int64), np.ones(outside.shape[0], dtype=np.int64)]
    )
    return is_out, np.concatenate([inside, outside])


def ood_metrics(score_in: Any, score_out: Any) -> dict[str, float | int]:
    """Separation of in- from out-of-distribution inputs by an uncertainty score.

    The positive class is out-of-distribution and a higher score means more likely out.
    `auroc` is the area under the ROC curve, `aupr` the average precision (area under
    precision–recall, positives = out), and `fpr95` the false positive rate at the first
    ROC point, lowering the threshold from the top, whose true positive rate is >= 0.95
    (i.e. the smallest FPR reaching TPR >= 0.95). Also `n_in` and `n_out`.
    """
    is_out, score = _ood_labels_and_scores(score_in, score_out)
    fpr, tpr, _ = roc_curve(is_out, score, drop_intermediate=False)
    first_at_95 = int(np.argmax(tpr >= 0.95))  # tpr ends at 1.0, so such a point exists
    return {
        "auroc": float(roc_auc_score(is_out, score)),
        "aupr": float(average_precision_score(is_out, score)),
        "fpr95": float(fpr[first_at_95]),
        "n_in": int(np.sum(is_out == 0)),
        "n_out": int(np.sum(is_out == 1)),
    }


def roc_points(score_in: Any, score_out: Any, max_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve (fpr, tpr) for plotting, out-of-distribution = positive, downsampled to <= max_points.

    Downsampling keeps evenly spaced points along the curve, always including the
    first (0, 0) and the last (1, 1).
    """
    if (
        isinstance(max_points, (bool, np.bool_))
        or not isinstance(max_points, (int, np.integer))
        or max_points < 2
    ):
        raise ValueError(
            f"max_points must be an integer >= 2 (first and last point are kept); got {max_points!r}"
        )
    is_out, score = _ood_labels_and_scores(score_in, score_out)
    fpr, tpr, _ = roc_curve(is_out, score)
    if fpr.shape[0] > max_points:
        keep = np.unique(np.linspace(0, fpr.shape[0] - 1, int(max_points)).astype(np.int64))
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr.astype(np.float64), tpr.astype(np.float64)


# --------------------------------------------------------------------------- selective prediction


def risk_coverage(score: Any, correct: Any) -> dict[str, Any]:
    """Risk–coverage curve for selective prediction, keeping the most certain inputs first.

    Inputs are sorted by ascending uncertainty `score` (stable, so ties keep input
    order). For k = 1..N, `coverage[k-1]` = k/N and `accuracy[k-1]` is the accuracy of
    the k kept inputs. `aurc` is the area under the risk–coverage curve,
    (1/N) Σ_k (1 − accuracy_k).
    """
    s = _as_scores(score, "score")
    c = np.asarray(correct)
    if c.ndim != 1:
        raise ValueError(f"correct must be a 1-D array of booleans; got shape {c.shape}")
    if c.shape[0] != s.shape[0]:
        raise ValueError(f"correct has length {c.shape[0]} but score has length {s.shape[0]}")
    if not (c.dtype == np.bool_ or np.issubdtype(c.dtype, np.number)) or not np.all((c == 0) | (c == 1)):
        raise ValueError("correct must contain only booleans (or 0/1)")
    n = s.shape[0]
    order = np.argsort(s, kind="stable")
    kept = np.arange(1, n + 1)
    accuracy_k = np.cumsum(c[order].astype(np.float64)) / kept
    return {
        "coverage": kept / n,
        "accuracy": accuracy_k,
        "aurc": float(np.mean(1.0 - accuracy_k)),
    }


def accuracy_at_coverage(curve: dict[str, Any], coverage: float) -> float:
    """Accuracy of a `risk_coverage` curve at the smallest k with k/N >= coverage (0 < coverage <= 1).

    A slack of 1e-12 absorbs round-off in `coverage` (e.g. 0.1 * 3 selects k/N = 0.3).
    """
    if not (0.0 < coverage <= 1.0):
        raise ValueError(f"coverage must be in (0, 1]; got {coverage}")
    coverages = np.asarray(curve["coverage"], dtype=np.float64)
    accuracies = np.asarray(curve["accuracy"], dtype=np.float64)
    if coverages.ndim != 1 or coverages.shape != accuracies.shape or coverages.shape[0] == 0:
        raise ValueError(
            "curve must be a risk_coverage result with equal-length, non-empty coverage and accuracy"
        )
    index = int(np.searchsorted(coverages, coverage - _COVERAGE_TOL, side="left"))
    return float(accuracies[min(index, coverages.shape[0] - 1)])
