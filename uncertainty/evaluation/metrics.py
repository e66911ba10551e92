"""Every metric of the pipeline, defined once, each with optional per-image weights.

Conventions:

* `probs` (N, K): a predictor's predictive distribution (the mean of its passes or members);
* `labels` (N,): integer classes in [0, K);
* `weights` (N,): non-negative per-image weights, None for all ones (scikit-learn's
  `sample_weight`); the bootstrap passes the counts of a resample of the images. The kernels'
  reductions also take a block of resamples at once, weights (R, N), and return (R,) values: each
  row the same sums, in the same order, as the row alone would give where the sum is sequential
  (cumulative sums, bin counts), BLAS's own order for the weighted means.

A metric is a weighted mean of per-image terms (accuracy, NLL, Brier), a binned sum (ECE,
adaptive ECE) or a rank statistic (AUROC), so each is split into a kernel computed once per
predictor (`*_terms`, `ece_parts`, `adaptive_ece_parts`, `Ranked`) and a cheap weighted
reduction: the point estimates and every bootstrap round use the same two functions. All
arithmetic is float64; bad shapes or values raise ValueError naming the argument.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_curve

from uncertainty.core import vocabulary
from uncertainty.models.summaries import entropy

# Probabilities are checked to lie in [0, 1] up to this slack (float32 softmax round-off).
_PROB_TOL = 1e-6
# Lower clip for p(y) in the NLL: a zero probability gives -log(1e-12) ~= 27.6, not inf.
NLL_FLOOR = 1e-12
# Slack when comparing a requested coverage to k/N, so 0.1 * 3 still selects k/N = 0.3.
_COVERAGE_TOL = 1e-12

# Every uncertainty score (higher = more uncertain), as uncertainty.core.vocabulary declares them, and the ones
# computed before (read from a predictor's output as they are).
SCORES = tuple(vocabulary.SCORES)
_READ_SCORES = tuple(name for name, score in vocabulary.SCORES.items() if score.source == "read")


# --------------------------------------------------------------------------- validation


def as_probs(probs: Any, name: str = "probs") -> np.ndarray:
    """`probs` as a float64 (N, K) array, N, K >= 1, entries finite and in [0, 1]."""
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(
            f"{name} must be a 2-D array (N inputs, K classes), N, K >= 1; got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite probabilities; found NaN or inf")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0 + _PROB_TOL:
        raise ValueError(f"{name} must hold probabilities in [0, 1]; found values in [{low:.6g}, {high:.6g}]")
    return array


def as_labels(labels: Any, n: int, k: int) -> np.ndarray:
    """`labels` as an int64 (N,) array of class indices in [0, K)."""
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"labels must be a 1-D array of {n} class indices; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {array.dtype}")
    if n and (array.min() < 0 or array.max() >= k):
        raise ValueError(f"labels must lie in [0, {k - 1}]; found values in [{array.min()}, {array.max()}]")
    return array.astype(np.int64)


def as_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """`weights` as a float64 (N,) array of finite values >= 0 with a positive sum; None -> ones."""
    if weights is None:
        return np.ones(n)
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per input; got {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or array.sum() <= 0:
        raise ValueError(f"{name} must be finite, >= 0 and not all 0")
    return array


def as_scores(score: Any, name: str) -> np.ndarray:
    """`score` as a finite float64 1-D array with at least one entry."""
    array = np.asarray(score, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of scores; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; found NaN or inf")
    return array


def _as_n_bins(n_bins: Any) -> int:
    is_integer = isinstance(n_bins, (int, np.integer)) and not isinstance(n_bins, (bool, np.bool_))
    if not is_integer or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1; got {n_bins!r}")
    return int(n_bins)


def digest(array: np.ndarray) -> bytes:
    """What an array holds (dtype, shape and bytes), in 16 bytes: equal digests, equal arrays."""
    array = np.ascontiguousarray(array)
    found = hashlib.blake2b(f"{array.dtype.str}{array.shape}".encode(), digest_size=16)
    found.update(array.data)
    return found.digest()


def weighted_mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Σ w_i v_i / Σ w_i (the plain mean without weights)."""
    values = np.asarray(values, dtype=np.float64)
    return mean_of(values, as_weights(weights, len(values)))


def mean_of(values: np.ndarray, weights: np.ndarray) -> Any:
    """`weighted_mean`'s kernel, unchecked: for weights already known good (the bootstrap's own counts);
    weights (R, N), one resample per row, give (R,) means."""
    if weights.ndim == 1:
        return float(np.dot(values, weights) / weights.sum())
    return weights @ values / weights.sum(axis=1)


# --------------------------------------------------------------------------- per-image terms


def correct_terms(probs: Any, labels: Any) -> np.ndarray:
    """1.0 where argmax p (ties: lowest class) equals the label, else 0.0; (N,)."""
    p = as_probs(probs)
    return (p.argmax(axis=1) == as_labels(labels, *p.shape)).astype(np.float64)


def nll_terms(probs: Any, labels: Any) -> np.ndarray:
    """−log p(y) per image, p(y) clipped below at 1e-12 (so at most ~27.6); (N,)."""
    p = as_probs(probs)
    y = as_labels(labels, *p.shape)
    return -np.log(np.maximum(p[np.arange(len(y)), y], NLL_FLOOR))


def brier_terms(probs: Any, labels: Any) -> np.ndarray:
    """Σ_k (p_k − onehot_k)² per image, in [0, 2]; (N,)."""
    p = as_probs(probs)
    y = as_labels(labels, *p.shape)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return ((p - onehot) ** 2).sum(axis=1)


def accuracy(probs: Any, labels: Any, weights: Any = None) -> float:
    return weighted_mean(correct_terms(probs, labels), weights)


def nll(probs: Any, labels: Any, weights: Any = None) -> float:
    """Mean negative log-likelihood of the predictive distribution, in nats."""
    return weighted_mean(nll_terms(probs, labels), weights)


def brier(probs: Any, labels: Any, weights: Any = None) -> float:
    """Multi-class Brier score, in [0, 2]."""
    return weighted_mean(brier_terms(probs, labels), weights)


# --------------------------------------------------------------------------- calibration


def ece_parts(probs: Any, labels: Any, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(bin of the top-label confidence, correct − confidence) per image.

    Bins are equal-width on [0, 1]: bin b is [b/B, (b+1)/B), the last one closed, so 1.0 falls in it.
    """
    p = as_probs(probs)
    bins = _as_n_bins(n_bins)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == as_labels(labels, *p.shape)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    return index, correct - confidence


def binned_gap(index: np.ndarray, gap: np.ndarray, weights: np.ndarray, n_bins: int) -> Any:
    """Σ_b |Σ_{i in b} w_i (correct_i − conf_i)| / Σ w: the ECE from `ece_parts`; weights (R, N) give (R,),
    row r's bins in one bincount as bins r B ... r B + B − 1 (each bin summed in image order, as alone)."""
    if weights.ndim == 1:
        return float(
            np.abs(np.bincount(index, weights=weights * gap, minlength=n_bins)).sum() / weights.sum()
        )
    rows = len(weights)
    shifted = (index[None, :] + n_bins * np.arange(rows)[:, None]).ravel()
    sums = np.bincount(shifted, weights=(weights * gap).ravel(), minlength=rows * n_bins).reshape(
        rows, n_bins
    )
    return np.abs(sums).sum(axis=1) / weights.sum(axis=1)


def ece(probs: Any, labels: Any, n_bins: int = 15, weights: Any = None) -> float:
    """Expected calibration error Σ_b (W_b / W)·|acc_b − conf_b| over equal-width confidence bins."""
    index, gap = ece_parts(probs, labels, n_bins)
    return binned_gap(index, gap, as_weights(weights, len(gap)), n_bins)


def adaptive_ece_parts(probs: Any, labels: Any, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(equal-mass bin of the top-label confidence, correct − confidence) per image.

    The images sorted by confidence (stable: ties keep their input order) are cut into `n_bins`
    consecutive groups as np.array_split does, the first N mod B one image larger; bins beyond
    N stay empty. Equal counts keep every bin's accuracy equally well estimated, where equal
    widths put most images of an accurate network into the top bin.
    """
    p = as_probs(probs)
    bins = _as_n_bins(n_bins)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == as_labels(labels, *p.shape)).astype(np.float64)
    size, larger = divmod(len(confidence), bins)
    sizes = np.full(bins, size, dtype=np.int64)
    sizes[:larger] += 1
    index = np.empty(len(confidence), dtype=np.int64)
    index[np.argsort(confidence, kind="stable")] = np.repeat(np.arange(bins), sizes)
    return index, correct - confidence


def adaptive_ece(probs: Any, labels: Any, n_bins: int = 15, weights: Any = None) -> float:
    """ECE Σ_b (W_b / W)·|acc_b − conf_b| over the equal-mass bins of `adaptive_ece_parts`.

    The bins are fixed by the unweighted ranks: weights (a bootstrap's counts) reweight the
    images inside the full sample's bins and never move one to another bin, so the parts are
    computed once per predictor.
    """
    index, gap = adaptive_ece_parts(probs, labels, n_bins)
    return binned_gap(index, gap, as_weights(weights, len(gap)), n_bins)


def reliability_bins(probs: Any, labels: Any, n_bins: int = 15, weights: Any = None) -> dict[str, np.ndarray]:
    """Per bin of `ece_parts`: `count` (weighted), `accuracy` and mean `confidence`; `edges` (n_bins + 1).

    Empty bins have accuracy and confidence 0 (their count of 0 tells them apart).
    """
    p = as_probs(probs)
    index, _ = ece_parts(p, labels, n_bins)
    w = as_weights(weights, len(index))
    count = np.bincount(index, weights=w, minlength=n_bins)
    safe = np.where(count > 0, count, 1.0)

    def bin_mean(values: np.ndarray) -> np.ndarray:
        return np.where(count > 0, np.bincount(index, weights=w * values, minlength=n_bins) / safe, 0.0)

    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1),
        "count": count,
        "accuracy": bin_mean(correct_terms(p, labels)),
        "confidence": bin_mean(p.max(axis=1)),
    }


# --------------------------------------------------------------------------- uncertainty scores


def uncertainty_scores(
    output: Mapping[str, np.ndarray], names: tuple[str, ...] = SCORES
) -> dict[str, np.ndarray]:
    """The scores `names` (N,) of a predictor's output, higher = more uncertain.

    `output` holds `mean` (N, K) and, for a predictor with several passes or members,
    `mean_entropy`, `variation_ratio` and `interval_width` (uncertainty.models.summaries); the scores
    computed before (`energy` −logsumexp of the logits, `max_logit` minus the largest logit,
    `feature_density` minus the log feature density) are read as they are.
    """
    mean = as_probs(output["mean"], "mean")
    found: dict[str, np.ndarray] = {}
    for name in names:
        if name == "one_minus_max_prob":
            found[name] = 1.0 - mean.max(axis=1)
        elif name == "entropy":
            found[name] = entropy(mean)
        elif name == "mutual_information":  # H[p̄] − mean H[p_t], clipped at 0 against round-off
            found[name] = np.maximum(entropy(mean) - output["mean_entropy"], 0.0)
        elif name in _READ_SCORES:
            found[name] = np.asarray(output[name], dtype=np.float64)
        else:
            raise ValueError(f"unknown score {name!r}; known: {', '.join(SCORES)}")
    return found


# --------------------------------------------------------------------------- ranking: AUROC


class Ranked:
    """AUROC of telling positives (higher score) from negatives, for any image weights.

    AUROC = P(score_pos > score_neg) + ½ P(equal), each image counted with its weight; the
    sorting is done once here, so each call `ranked(w_negative, w_positive)` is O(N).
    """

    def __init__(self, score_negative: Any, score_positive: Any) -> None:
        negative = as_scores(score_negative, "score_negative")
        positive = as_scores(score_positive, "score_positive")
        self.n_negative, self.n_positive = len(negative), len(positive)
        self._order = np.argsort(negative, kind="stable")
        ranked = negative[self._order]
        self._below = np.searchsorted(ranked, positive, side="left")
        self._up_to = np.searchsorted(ranked, positive, side="right")
        # The positives tied with some negative: only they need the half-win term (for the others it is
        # 0.5 * (c - c) = 0, so leaving it out changes no bit).
        self._tied = np.flatnonzero(self._up_to != self._below)

    def __call__(self, weights_negative: Any = None, weights_positive: Any = None) -> float:
        return self.auroc(
            as_weights(weights_negative, self.n_negative, "weights_negative"),
            as_weights(weights_positive, self.n_positive, "weights_positive"),
        )

    def auroc(self, w_negative: np.ndarray, w_positive: np.ndarray) -> Any:
        """The kernel, unchecked: for weights already known good (the bootstrap's own counts); weights
        (R, N) on both sides, one resample per row, give (R,)."""
        if w_negative.ndim == 1:
            cumulative = np.empty(self.n_negative + 1)
            cumulative[0] = 0.0
            np.cumsum(w_negative[self._order], out=cumulative[1:])
            wins = cumulative[self._below]
            if len(self._tied):
                tied = self._tied
                wins[tied] += 0.5 * (cumulative[self._up_to[tied]] - wins[tied])
            return float(np.dot(w_positive, wins) / (cumulative[-1] * w_positive.sum()))
        # np.take keeps rows contiguous (an index array on axis 1 leaves a column-major copy, whose
        # cumulative sums along rows take four times as long)
        cumulative = np.zeros((len(w_negative), self.n_negative + 1))
        np.cumsum(np.take(w_negative, self._order, axis=1), axis=1, out=cumulative[:, 1:])
        wins = np.take(cumulative, self._below, axis=1)
        if len(self._tied):
            tied = self._tied
            wins[:, tied] += 0.5 * (np.take(cumulative, self._up_to[tied], axis=1) - wins[:, tied])
        return np.einsum("rn,rn->r", w_positive, wins) / (cumulative[:, -1] * w_positive.sum(axis=1))


def auroc(score_in: Any, score_out: Any, weights_in: Any = None, weights_out: Any = None) -> float:
    """AUROC of detecting out-of-distribution inputs (positives) by a higher score."""
    return Ranked(score_in, score_out)(weights_in, weights_out)


def misclassification_auroc(score: Any, correct: Any, weights: Any = None) -> float:
    """AUROC of detecting wrong answers (positives) by a higher score; NaN when all or none are wrong."""
    s = as_scores(score, "score")
    right = np.asarray(correct).astype(bool)
    w = as_weights(weights, len(s))
    if right.all() or not right.any():
        return float("nan")
    return Ranked(s[right], s[~right])(w[right], w[~right])


def _out_against_in(
    score_in: Any, score_out: Any, weights_in: Any, weights_out: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is_out, score, weight) of the test and OOD images together, as scikit-learn's curves take them."""
    inside, outside = as_scores(score_in, "score_in"), as_scores(score_out, "score_out")
    is_out = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    weight = np.concatenate([as_weights(weights_in, len(inside)), as_weights(weights_out, len(outside))])
    return is_out, np.concatenate([inside, outside]), weight


def aupr(score_in: Any, score_out: Any, weights_in: Any = None, weights_out: Any = None) -> float:
    """Average precision of a score telling out (positives) from in."""
    is_out, score, weight = _out_against_in(score_in, score_out, weights_in, weights_out)
    return float(average_precision_score(is_out, score, sample_weight=weight))


def fpr95(score_in: Any, score_out: Any, weights_in: Any = None, weights_out: Any = None) -> float:
    """The false positive rate at the first ROC point whose true positive rate is >= 0.95 (out = positive)."""
    is_out, score, weight = _out_against_in(score_in, score_out, weights_in, weights_out)
    fpr, tpr, _ = roc_curve(is_out, score, sample_weight=weight, drop_intermediate=False)
    return float(fpr[int(np.argmax(tpr >= 0.95 - 1e-12))])


def ood_metrics(
    score_in: Any, score_out: Any, weights_in: Any = None, weights_out: Any = None
) -> dict[str, float]:
    """AUROC, AUPR (average precision, positives = out) and FPR95 of a score telling out from in."""
    given = (score_in, score_out, weights_in, weights_out)
    return {"auroc": auroc(*given), "aupr": aupr(*given), "fpr95": fpr95(*given)}


def roc_points(score_in: Any, score_out: Any, max_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve (fpr, tpr), out-of-distribution = positive, evenly thinned to <= max_points (ends kept)."""
    if (
        isinstance(max_points, (bool, np.bool_))
        or not isinstance(max_points, (int, np.integer))
        or max_points < 2
    ):
        raise ValueError(
            f"max_points must be an integer >= 2 (first and last point are kept); got {max_points!r}"
        )
    inside, outside = as_scores(score_in, "score_in"), as_scores(score_out, "score_out")
    is_out = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    fpr, tpr, _ = roc_curve(is_out, np.concatenate([inside, outside]))
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, int(max_points)).astype(np.int64))
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr.astype(np.float64), tpr.astype(np.float64)


# --------------------------------------------------------------------------- selective prediction


class Selective:
    """Selective prediction by a score, for any image weights: the stable sort on the score is done once.

    `curve(w)` keeps the most certain inputs first: `coverage[k-1]` is the weight share of the k
    kept inputs, `accuracy[k-1]` their weighted accuracy; `aurc` = Σ_k w_k (1 − accuracy_k) / W, the
    area under the risk–coverage curve, and `augrc` = Σ_k (w_k / W)·(Σ_{j<=k} w_j wrong_j) / W, the
    area under the generalized one (Traub et al., NeurIPS 2024): its risk is the share of all inputs
    that are kept and wrong, so the few most certain inputs do not dominate the area as they do in
    `aurc`. Ties are not grouped: tied inputs enter one at a time in input order (stable sort), for
    aurc and augrc alike, so both are right Riemann sums over the N points of the curve.
    """

    def __init__(self, score: Any, correct: Any) -> None:
        s = as_scores(score, "score")
        c = np.asarray(correct)
        if c.shape != s.shape:
            raise ValueError(f"correct must have the shape of score {s.shape}; got {c.shape}")
        if not (c.dtype == np.bool_ or np.issubdtype(c.dtype, np.number)) or not np.all((c == 0) | (c == 1)):
            raise ValueError("correct must contain only booleans (or 0/1)")
        self.n = len(s)
        self._order = np.argsort(s, kind="stable")
        self._right = c[self._order].astype(np.float64)
        self._last: tuple[np.ndarray | None, dict[str, Any]] = (None, {})

    def curve(self, weights: np.ndarray) -> dict[str, Any]:
        """The curve and its areas for weights already known good (unchecked: the bootstrap's hot path);
        the same weights array again gets the same curve without recomputing it (AURC, AUGRC and the
        coverage at a risk of one image resample share one curve)."""
        if weights is self._last[0]:
            return self._last[1]
        if weights.ndim == 2:  # a block of resamples, one per row: each row's curve and areas
            w_kept, right = np.take(weights, self._order, axis=1), self._right  # rows kept contiguous
            kept = np.cumsum(w_kept, axis=1)
            accuracy_k = np.cumsum(w_kept * right, axis=1) / np.where(kept > 0, kept, 1.0)
            wrong_kept = np.cumsum(w_kept * (1.0 - right), axis=1)
            total = kept[:, -1]
            found = {
                "coverage": kept / total[:, None],
                "accuracy": accuracy_k,
                "aurc": np.einsum("rn,rn->r", w_kept, 1.0 - accuracy_k) / total,
                "augrc": np.einsum("rn,rn->r", w_kept, wrong_kept) / total**2,
            }
            self._last = (weights, found)
            return found
        w_kept, right = weights[self._order], self._right
        kept = np.cumsum(w_kept)
        accuracy_k = np.cumsum(w_kept * right) / np.where(kept > 0, kept, 1.0)
        wrong_kept = np.cumsum(w_kept * (1.0 - right))
        total = kept[-1]
        found = {
            "coverage": kept / total,
            "accuracy": accuracy_k,
            "aurc": float(np.dot(w_kept, 1.0 - accuracy_k) / total),
            "augrc": float(np.dot(w_kept, wrong_kept) / total**2),
        }
        self._last = (weights, found)
        return found

    def statistic(self, name: str, weights: np.ndarray, risk: float = 0.05) -> Any:
        """ "aurc", "augrc" or "coverage_at_risk" (at selective risk `risk`) for these weights ((R,) for
        weights (R, N))."""
        curve = self.curve(weights)
        if name != "coverage_at_risk":
            return curve[name]
        if weights.ndim == 1:
            return coverage_at_risk(curve, risk)
        reached = (1.0 - curve["accuracy"]) <= risk + _COVERAGE_TOL  # as coverage_at_risk, row by row
        return np.where(reached, curve["coverage"], 0.0).max(axis=1)


def risk_coverage(score: Any, correct: Any, weights: Any = None) -> dict[str, Any]:
    """Accuracy against coverage and its areas (`Selective.curve`), keeping the most certain inputs first."""
    selective = Selective(score, correct)
    return selective.curve(as_weights(weights, selective.n))


def _curve_arrays(curve: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, accuracy) of a `risk_coverage` result as float64 arrays of one non-empty length."""
    coverages = np.asarray(curve["coverage"], dtype=np.float64)
    accuracies = np.asarray(curve["accuracy"], dtype=np.float64)
    if coverages.ndim != 1 or coverages.shape != accuracies.shape or coverages.shape[0] == 0:
        raise ValueError(
            "curve must be a risk_coverage result with equal-length, non-empty coverage and accuracy"
        )
    return coverages, accuracies


def accuracy_at_coverage(curve: Mapping[str, Any], coverage: float) -> float:
    """Accuracy of a `risk_coverage` curve at the first point whose coverage is >= `coverage` (0 < c <= 1)."""
    if not (0.0 < coverage <= 1.0):
        raise ValueError(f"coverage must be in (0, 1]; got {coverage}")
    coverages, accuracies = _curve_arrays(curve)
    index = int(np.searchsorted(coverages, coverage - _COVERAGE_TOL, side="left"))
    return float(accuracies[min(index, coverages.shape[0] - 1)])


def coverage_at_risk(curve: Mapping[str, Any], risk: float = 0.05) -> float:
    """Largest coverage of a `risk_coverage` curve whose selective risk 1 − accuracy is <= `risk`.

    The risk may rise and fall along the curve, so every point is checked, not the first crossing.
    With `_COVERAGE_TOL` slack, 1 wrong in 20 counts as a risk of 0.05. When no point qualifies the
    answer is 0.0: only abstaining on every input keeps the risk that low.
    """
    is_number = isinstance(risk, (int, float, np.integer, np.floating)) and not isinstance(
        risk, (bool, np.bool_)
    )
    if not is_number or not (0.0 <= risk < 1.0):
        raise ValueError(f"risk must be a number in [0, 1); got {risk!r}")
    coverages, accuracies = _curve_arrays(curve)
    reached = (1.0 - accuracies) <= risk + _COVERAGE_TOL
    return float(coverages[reached].max()) if reached.any() else 0.0
