"""Verdicts that hold up: intervals over training seeds and test images, and temperature scaling.

A predictor here is a list of seeded instances (one per independent training; the
deep ensemble is one instance). Each instance is reduced to per-image arrays, and
every metric is a weighted mean (or weighted AUROC) over images, so a bootstrap
resample of the images is a vector of integer weights: one draw of weights per set
serves every predictor and metric alike (the image resample is paired).

The interval of a predictor's metric, or of the difference between two predictors,
covers both sources of chance with a two-level bootstrap: in each of B rounds the
images are resampled (weights) and, independently, the seeds of each predictor are
resampled with replacement; the statistic is the mean over the resampled seeds. The
percentile interval of the B rounds is reported. With one seed (the ensemble) only
the images are resampled. A comparison of a predictor with its own temperature-scaled
self resamples the same seeds on both sides (they are the same trainings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from uncertainty.metrics import entropy

# Lower clip before taking logs of probabilities (as metrics.nll does).
_FLOOR = 1e-12
# Temperatures are searched in [exp(-4), exp(4)] ~ [0.018, 55]: far wider than any fitted here.
_LOG_T_BOUNDS = (-4.0, 4.0)


Weights = Mapping[str, np.ndarray]  # set name -> (N_set,) non-negative weights
Metric = Callable[[Weights], float]


# --------------------------------------------------------------------------- intervals over seeds


def t_interval(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean, sample std (ddof=1) and the two-sided Student-t interval of the mean of `values`."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"values must be a 1-D sequence of at least 2 numbers, got shape {x.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean, std = float(x.mean()), float(x.std(ddof=1))
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * std / np.sqrt(len(x))
    return {"mean": mean, "std": std, "low": mean - half, "high": mean + half, "n": len(x)}


def verdict(low: float, high: float, higher_is_better: bool) -> str:
    """'better', 'worse' or 'indistinguishable' for an interval of (A - B)."""
    if low > 0 or high < 0:
        return "better" if (low > 0) == higher_is_better else "worse"
    return "indistinguishable"


def higher_is_better(metric: str) -> bool:
    """Accuracy and every AUROC: higher is better; NLL, Brier, ECE, max_prob on noise: lower is."""
    return metric == "accuracy" or "auroc" in metric


# --------------------------------------------------------------------------- temperature scaling


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row-wise; (N, K) -> (N, K) float64. T > 1 softens, T < 1 sharpens."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _FLOOR))
    return scipy.special.softmax(logits / temperature, axis=1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the NLL of softmax(log p / T) on (probs, labels) (Guo et al. 2017)."""
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


def cross_fit_temperature(
    probs: np.ndarray, labels: np.ndarray, split: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, tuple[float, float]]:
    """Each half scaled by the temperature fitted on the other: no image is scored by a T fitted on it.

    Returns the scaled probabilities (N, K) and (T fitted on half a, T fitted on half b).
    """
    a, b = split
    t_a, t_b = fit_temperature(probs[a], labels[a]), fit_temperature(probs[b], labels[b])
    scaled = np.empty(probs.shape, dtype=np.float64)
    scaled[b] = apply_temperature(probs[b], t_a)
    scaled[a] = apply_temperature(probs[a], t_b)
    return scaled, (t_a, t_b)


# --------------------------------------------------------------------------- weighted metrics


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(np.dot(values, weights) / weights.sum())


def weighted_auroc(
    score_negative: np.ndarray, score_positive: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], float]:
    """A function (w_negative, w_positive) -> AUROC of telling positives (higher score) from negatives.

    AUROC = P(score_pos > score_neg) + 0.5 P(equal), each image counted with its weight; with unit
    weights it equals sklearn's roc_auc_score. Sorting is done once, so each call is O(N).
    """
    order = np.argsort(score_negative, kind="stable")
    sorted_negative = score_negative[order]
    below = np.searchsorted(sorted_negative, score_positive, side="left")
    up_to = np.searchsorted(sorted_negative, score_positive, side="right")

    def auroc(w_negative: np.ndarray, w_positive: np.ndarray) -> float:
        cumulative = np.concatenate([[0.0], np.cumsum(w_negative[order], dtype=np.float64)])
        wins = cumulative[below] + 0.5 * (cumulative[up_to] - cumulative[below])  # (N_pos,)
        return float(np.dot(w_positive, wins) / (cumulative[-1] * w_positive.sum()))

    return auroc


def ece_parts(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(bin index, correct - confidence) per image, with metrics.reliability_bins' equal-width bins."""
    confidence = probs.max(1)
    correct = (probs.argmax(1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    return index, correct - confidence


def weighted_ece(index: np.ndarray, gap: np.ndarray, weights: np.ndarray, n_bins: int) -> float:
    """Σ_b |Σ_{i in b} w_i (correct_i - conf_i)| / Σ w: metrics.ece with image weights."""
    return float(np.abs(np.bincount(index, weights=weights * gap, minlength=n_bins)).sum() / weights.sum())


@dataclass
class Instance:
    """One seeded training of a predictor, as per-image arrays; `metrics` maps a name to f(weights)."""

    name: str
    metrics: dict[str, Metric] = field(default_factory=dict)


def instance(
    name: str,
    test_probs: np.ndarray,
    labels: np.ndarray,
    n_bins: int,
    ood_probs: Mapping[str, np.ndarray],
    mean_entropy_test: np.ndarray | None = None,
    mean_entropy_ood: Mapping[str, np.ndarray] | None = None,
    extra_scores: Mapping[str, np.ndarray] | None = None,
) -> Instance:
    """Metrics of one predictor instance: accuracy, nll, brier, ece on the test set; for each OOD set
    `auroc_<set>` (entropy of the predictive mean, higher = out) and, where the instance has a spread
    (mean_entropy given), `auroc_<set>_mutual_information`; `misclassification_auroc_<score>` (wrong
    answers as positives); `max_prob_<set>` (mean top probability on that set)."""
    p = np.asarray(test_probs, dtype=np.float64)
    y = np.asarray(labels)
    correct = (p.argmax(1) == y).astype(np.float64)
    nll_i = -np.log(np.maximum(p[np.arange(len(y)), y], _FLOOR))
    onehot = np.eye(p.shape[1])[y]
    brier_i = ((p - onehot) ** 2).sum(1)
    index, gap = ece_parts(p, y, n_bins)
    out = Instance(name)
    out.metrics["accuracy"] = lambda w: weighted_mean(correct, w["test"])
    out.metrics["nll"] = lambda w: weighted_mean(nll_i, w["test"])
    out.metrics["brier"] = lambda w: weighted_mean(brier_i, w["test"])
    out.metrics["ece"] = lambda w: weighted_ece(index, gap, w["test"], n_bins)

    scores_in = {"entropy": entropy(p), "one_minus_max_prob": 1 - p.max(1)}
    if mean_entropy_test is not None:
        scores_in["mutual_information"] = np.maximum(scores_in["entropy"] - mean_entropy_test, 0.0)
    scores_in.update(extra_scores or {})
    wrong = correct == 0
    for score_name, score in scores_in.items():
        if 0 < wrong.sum() < len(wrong):
            auroc = weighted_auroc(score[~wrong], score[wrong])
            out.metrics[f"misclassification_auroc_{score_name}"] = lambda w, f=auroc: f(
                w["test"][~wrong], w["test"][wrong]
            )
    for set_name, probs_out in ood_probs.items():
        q = np.asarray(probs_out, dtype=np.float64)
        entropy_out = entropy(q)
        score_sets = {"": (scores_in["entropy"], entropy_out)}
        if mean_entropy_test is not None and mean_entropy_ood is not None:
            mi_out = np.maximum(entropy_out - mean_entropy_ood[set_name], 0.0)
            score_sets["_mutual_information"] = (scores_in["mutual_information"], mi_out)
        for suffix, (s_in, s_out) in score_sets.items():
            auroc = weighted_auroc(s_in, s_out)
            out.metrics[f"auroc_{set_name}{suffix}"] = lambda w, f=auroc, s=set_name: f(w["test"], w[s])
        top = q.max(1)
        out.metrics[f"max_prob_{set_name}"] = lambda w, t=top, s=set_name: weighted_mean(t, w[s])
    return out


# --------------------------------------------------------------------------- the two-level bootstrap


def replicates(
    predictors: Mapping[str, Sequence[Instance]], sizes: Mapping[str, int], rounds: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """predictor -> metric -> array (rounds + 1, seeds): row 0 on the full data, then one row per image resample.

    Every round draws one weight vector per set (counts of a resample with replacement) and
    evaluates every instance on it, so all predictors see the same resampled images.
    """
    rng = np.random.default_rng(seed)
    names = {m for instances in predictors.values() for inst in instances for m in inst.metrics}
    out = {
        predictor: {
            metric: np.full((rounds + 1, len(instances)), np.nan)
            for metric in names
            if all(metric in inst.metrics for inst in instances)
        }
        for predictor, instances in predictors.items()
    }
    for r in range(rounds + 1):
        if r == 0:
            weights = {s: np.ones(n) for s, n in sizes.items()}
        else:
            weights = {
                s: np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
                for s, n in sizes.items()
            }
        for predictor, instances in predictors.items():
            for metric, table in out[predictor].items():
                for i, inst in enumerate(instances):
                    table[r, i] = inst.metrics[metric](weights)
    return out


def _seed_means(table: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """table (rounds+1, S), picks (rounds, S) seed indices -> (rounds,) mean over the picked seeds."""
    return np.take_along_axis(table[1:], picks, axis=1).mean(1)


def summarize(table: np.ndarray, confidence: float, seed: int) -> dict[str, float]:
    """One predictor's metric: mean over seeds, per-seed std and t-interval, and the two-level bootstrap interval."""
    rounds, seeds = table.shape[0] - 1, table.shape[1]
    picks = np.random.default_rng(seed).integers(0, seeds, (rounds, seeds))
    boot = _seed_means(table, picks)
    alpha = (1 - confidence) / 2
    summary = {"mean": float(table[0].mean()), "seeds": seeds}
    if seeds >= 2:
        t = t_interval(table[0], confidence)
        summary.update(std=t["std"], t_low=t["low"], t_high=t["high"])
    summary.update(low=float(np.quantile(boot, alpha)), high=float(np.quantile(boot, 1 - alpha)))
    return summary


def compare(
    table_a: np.ndarray, table_b: np.ndarray, metric: str, confidence: float, seed: int, paired: bool = False
) -> dict[str, float | str]:
    """Difference A - B (means over seeds), its two-level bootstrap interval and a verdict word.

    paired: A and B are the same trainings (e.g. a predictor and its temperature-scaled self),
    so one seed resample serves both; otherwise each side's seeds are resampled independently.
    """
    rounds = table_a.shape[0] - 1
    rng = np.random.default_rng(seed)
    picks_a = rng.integers(0, table_a.shape[1], (rounds, table_a.shape[1]))
    picks_b = picks_a if paired else rng.integers(0, table_b.shape[1], (rounds, table_b.shape[1]))
    if paired and table_a.shape[1] != table_b.shape[1]:
        raise ValueError("paired comparison needs the same seeds on both sides")
    boot = _seed_means(table_a, picks_a) - _seed_means(table_b, picks_b)
    alpha = (1 - confidence) / 2
    low, high = float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))
    return {
        "difference": float(table_a[0].mean() - table_b[0].mean()),
        "low": low,
        "high": high,
        "verdict": verdict(low, high, higher_is_better(metric)),
    }
