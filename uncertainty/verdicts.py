"""Verdicts that hold up: intervals over training seeds and test images.

A predictor here is a list of seeded instances (one per independent training; the
deep ensemble is one instance). Each instance is reduced to per-image arrays, and
every metric is a weighted mean (or weighted AUROC) over images, so a bootstrap
resample of the images is a vector of integer weights: one draw of weights per set
serves every predictor and metric alike (the image resample is paired).

The interval of a predictor's metric, or of the difference between two predictors, covers
both sources of chance. The images: B bootstrap rounds resample them (weights, the seeds
fixed), and the variance of the statistic over the rounds is the image level. The seeds:
the variance of the per-seed values divided by their number, with S − 1 degrees of freedom
(a percentile bootstrap over 3 to 10 seeds covers far less than it says: 83 % at a nominal
95 % with 5 seeds). The two are added (less the seed × image part both contain) and the
interval is Student-t with Satterthwaite's degrees of freedom, so it is the t-interval when
the seeds dominate and the normal one when the images do (tests/test_verdicts.py simulates
its coverage). With one training (the ensemble) only the images count. A comparison of a
predictor with its own temperature-scaled self takes the per-seed differences (they are the
same trainings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from uncertainty import metrics
from uncertainty.ood_inputs import OOD_SETS

Weights = Mapping[str, np.ndarray]  # set name -> (N_set,) non-negative weights
Metric = Callable[[Weights], float]
MetricPath = tuple[str, ...]  # a metric's place in the nested JSON: ("ood_auroc", "mnist", "entropy")

# The score key of each predictor's own OOD score (Predictor.ood_score: entropy, or the score the
# method proposes, e.g. feature density): the verdict table compares methods by what each offers.
OWN_SCORE = "own_score"
# The verdict table's metrics, in its order; the seeds table shows every metric.
VERDICT_METRICS: tuple[MetricPath, ...] = (
    ("accuracy",),
    ("nll",),
    ("brier",),
    ("ece",),
    *(("ood_auroc", set_name, OWN_SCORE) for set_name in OOD_SETS),
    ("misclassification_auroc", "entropy"),
)
# Scores whose AUROC against each OOD set is measured over seeds (where the predictor offers them).
OOD_SCORES = ("entropy", "mutual_information", "energy", "max_logit", "feature_density")


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


def higher_is_better(metric: MetricPath) -> bool:
    """Accuracy and every AUROC: higher is better; NLL, Brier, ECE, max_prob on noise: lower is."""
    return metric[0] in ("accuracy", "ood_auroc", "misclassification_auroc")


def nest(flat: Mapping[MetricPath, Any]) -> dict[str, Any]:
    """{("ood_auroc", "mnist", "entropy"): x} -> {"ood_auroc": {"mnist": {"entropy": x}}} (JSON; dvc shows dotted keys)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


def lookup(nested: Mapping[str, Any], path: MetricPath) -> Any:
    """The value at `path` of a nested mapping, None where it has none."""
    node: Any = nested
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


# --------------------------------------------------------------------------- one instance's metrics


def instance_metrics(
    output: Callable[[str], Mapping[str, np.ndarray]],
    labels: np.ndarray,
    scores: Sequence[str],
    n_bins: int,
    ood_sets: Sequence[str] = OOD_SETS,
    ood_score: str = "entropy",
) -> dict[MetricPath, Metric]:
    """Every metric of one predictor instance as a function of the image weights of each set.

    The kernels of uncertainty.metrics (per-image terms, ECE parts, ranked scores) are computed
    once here; each call is a weighted reduction, unchecked (`replicates` makes the weights itself:
    this is the bootstrap's hot path). On the test set: accuracy, NLL, Brier, ECE and the
    misclassification AUROC of each score (wrong answers as positives); per set of `ood_sets`: the
    AUROC of OOD_SCORES the predictor offers (out as positives), that of its own `ood_score` again
    under OWN_SCORE, and the mean top probability.
    """
    test = output("test")
    mean = test["mean"]
    correct = metrics.correct_terms(mean, labels)
    nll, brier = metrics.nll_terms(mean, labels), metrics.brier_terms(mean, labels)
    index, gap = metrics.ece_parts(mean, labels, n_bins)
    found: dict[MetricPath, Metric] = {
        ("accuracy",): lambda w: metrics.mean_of(correct, w["test"]),
        ("nll",): lambda w: metrics.mean_of(nll, w["test"]),
        ("brier",): lambda w: metrics.mean_of(brier, w["test"]),
        ("ece",): lambda w: metrics.binned_gap(index, gap, w["test"], n_bins),
    }
    scores_in = metrics.uncertainty_scores(test, tuple(scores))
    right = correct == 1
    if 0 < right.sum() < len(right):
        for score, values in scores_in.items():
            ranked = metrics.Ranked(values[right], values[~right])
            found[("misclassification_auroc", score)] = lambda w, r=ranked: r.auroc(
                w["test"][right], w["test"][~right]
            )
    for set_name in ood_sets:
        out = output(set_name)
        scores_out = metrics.uncertainty_scores(
            out, tuple(s for s in scores if s in OOD_SCORES or s == ood_score)
        )
        for score, values in scores_out.items():
            ranked = metrics.Ranked(scores_in[score], values)
            found[("ood_auroc", set_name, score)] = lambda w, r=ranked, s=set_name: r.auroc(w["test"], w[s])
        found[("ood_auroc", set_name, OWN_SCORE)] = found[("ood_auroc", set_name, ood_score)]
        top = np.asarray(out["mean"], dtype=np.float64).max(axis=1)
        found[("max_prob", set_name)] = lambda w, t=top, s=set_name: metrics.mean_of(t, w[s])
    return found


# --------------------------------------------------------------------------- the two-level bootstrap


def replicates(
    predictors: Mapping[str, Sequence[Mapping[MetricPath, Metric]]],
    sizes: Mapping[str, int],
    rounds: int,
    seed: int,
) -> dict[str, dict[MetricPath, np.ndarray]]:
    """predictor -> metric -> array (rounds + 1, seeds): row 0 on the full data, then one row per image resample.

    Every round draws one weight vector per set (counts of a resample with replacement) and
    evaluates every instance on it, so all predictors see the same resampled images.
    """
    rng = np.random.default_rng(seed)
    out = {
        predictor: {
            metric: np.full((rounds + 1, len(instances)), np.nan)
            for metric in instances[0]
            if all(metric in inst for inst in instances)
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
                    table[r, i] = inst[metric](weights)
    return out


def _seed_terms(table: np.ndarray) -> tuple[float, int, float]:
    """One side's seed level from its table (rounds + 1, S): (s²/S, its degrees of freedom S − 1, the overlap).

    s²/S, the variance of the per-seed values over S, also holds each seed's own image noise
    (seed × image); the image bootstrap of the mean over seeds holds a share of it again. The
    overlap, estimated from the per-seed bootstrap variances, is what is counted twice.
    """
    seeds = table.shape[1]
    if seeds < 2:  # one training: no spread to estimate, the images are the only source
        return 0.0, 1, 0.0
    per_seed = table[1:].var(axis=0, ddof=1).mean()
    of_mean = table[1:].mean(axis=1).var(ddof=1)
    return float(table[0].var(ddof=1) / seeds), seeds - 1, float(max(per_seed - of_mean, 0.0) / (seeds - 1))


def _interval(
    estimate: float, image_rounds: np.ndarray, sides: Sequence[tuple[float, int, float]], confidence: float
) -> dict[str, float]:
    """Student-t interval with the seed and image variances added and Satterthwaite's degrees of freedom.

    image_rounds: the statistic in each image-bootstrap round (seeds fixed); sides: `_seed_terms` of each
    independent side. With no seed spread the interval is the images' alone (normal quantile).
    """
    overlap = sum(side[2] for side in sides)
    image_var = max(float(image_rounds.var(ddof=1)) - overlap, 0.0)
    seed_vars = [(var, df) for var, df, _ in sides if var > 0]
    total = image_var + sum(var for var, _ in seed_vars)
    if total <= 0:
        return {"low": estimate, "high": estimate, "se": 0.0, "df": float("inf")}
    denominator = sum(var**2 / df for var, df in seed_vars) + image_var**2 / (len(image_rounds) - 1)
    df = total**2 / denominator
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, df)) * np.sqrt(total)
    return {"low": estimate - half, "high": estimate + half, "se": float(np.sqrt(total)), "df": float(df)}


def summarize(table: np.ndarray, confidence: float) -> dict[str, float]:
    """One predictor's metric: mean over seeds, per-seed std and t-interval, and the interval over seeds and images.

    table: (rounds + 1, S), row 0 on the full data, then one row per image-bootstrap round.
    """
    mean = float(table[0].mean())
    summary = {"mean": mean, "seeds": table.shape[1]}
    if table.shape[1] >= 2:
        t = t_interval(table[0], confidence)
        summary.update(std=t["std"], t_low=t["low"], t_high=t["high"])
    found = _interval(mean, table[1:].mean(axis=1), [_seed_terms(table)], confidence)
    summary.update(low=found["low"], high=found["high"])
    return summary


def compare(
    table_a: np.ndarray, table_b: np.ndarray, metric: MetricPath, confidence: float, paired: bool = False
) -> dict[str, float | str]:
    """Difference A − B (means over seeds), its interval over seeds and images, p-value and verdict word.

    paired: A and B are the same trainings (e.g. a predictor and its temperature-scaled self), so the
    seed level is the spread of the per-seed differences; otherwise each side's seeds count separately.
    Both sides were evaluated on the same image resamples, so the image level is the bootstrap of the
    difference itself.
    """
    if paired and table_a.shape[1] != table_b.shape[1]:
        raise ValueError("paired comparison needs the same seeds on both sides")
    difference = float(table_a[0].mean() - table_b[0].mean())
    rounds = table_a[1:].mean(axis=1) - table_b[1:].mean(axis=1)
    sides = [_seed_terms(table_a - table_b)] if paired else [_seed_terms(table_a), _seed_terms(table_b)]
    found = _interval(difference, rounds, sides, confidence)
    if found["se"] > 0:
        p_value = float(2 * scipy.stats.t.sf(abs(difference) / found["se"], found["df"]))
    else:
        p_value = 1.0 if difference == 0 else 0.0
    return {
        "difference": difference,
        "low": found["low"],
        "high": found["high"],
        "p_value": p_value,
        "verdict": verdict(found["low"], found["high"], higher_is_better(metric)),
    }


def adjust_for_many(results: Sequence[dict[str, Any]], alpha: float) -> dict[str, Any]:
    """Benjamini-Hochberg over the p-values of a table of comparisons (in place: `p_adjusted`, `survives`).

    Returns the reading of the whole table: how many comparisons, how many decided verdicts one
    would expect by chance if every true difference were 0 (alpha per comparison), how many were
    decided, and how many of those keep their word at a false discovery rate of alpha.
    """
    adjusted = scipy.stats.false_discovery_control([r["p_value"] for r in results], method="bh")
    for result, p in zip(results, adjusted, strict=True):
        result["p_adjusted"] = float(p)
        result["survives"] = bool(result["verdict"] != "indistinguishable" and p < alpha)
    decided = sum(r["verdict"] != "indistinguishable" for r in results)
    return {
        "comparisons": len(results),
        "alpha": alpha,
        "expected_by_chance": alpha * len(results),
        "decided": decided,
        "decided_after_benjamini_hochberg": sum(r["survives"] for r in results),
    }


# --------------------------------------------------------------------------- the summary: which predictor for which job

# What a practitioner picks a predictor for, and the metrics that judge it (for OOD detection and
# refusing inputs, the best of the predictor's scores counts).
JOBS: dict[str, tuple[MetricPath, ...]] = {
    "accuracy": (("accuracy",),),
    "calibration_nll": (("nll",),),
    "calibration_ece": (("ece",),),
    "detecting_mnist": tuple(("ood_auroc", "mnist", score) for score in OOD_SCORES),
    "refusing_uncertain_inputs": tuple(("misclassification_auroc", score) for score in metrics.SCORES),
}


def best_for_job(
    tables: Mapping[str, Mapping[MetricPath, np.ndarray]],
    paths: Sequence[MetricPath],
    confidence: float,
    trainings: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The predictor with the best mean on the job's metrics, the runner-up, and the difference A − B.

    Each predictor is represented by its best metric of `paths`. The runner-up is the best predictor
    on other trainings (`trainings`: predictor -> its instances' names), so that it is another method,
    not the best one's own temperature-scaled self; the difference has the two-level bootstrap
    interval and verdict of `compare` (unpaired: the seeds are resampled on each side).
    """
    higher = higher_is_better(paths[0])

    def score(pair: tuple[str, MetricPath]) -> float:
        mean = float(tables[pair[0]][pair[1]][0].mean())
        return mean if higher else -mean

    best_each = [
        max(((name, path) for path in paths if path in tables[name]), key=score)
        for name in tables
        if any(path in tables[name] for path in paths)
    ]
    ranked = sorted(best_each, key=score, reverse=True)

    def entry(name: str, path: MetricPath) -> dict[str, Any]:
        return {"predictor": name, "metric": list(path), "mean": float(tables[name][path][0].mean())}

    (a, path_a), others = ranked[0], ranked[1:]
    if trainings is not None:
        others = [(name, path) for name, path in others if list(trainings[name]) != list(trainings[a])]
    if not others:  # no other method has the metric (a misclassification AUROC needs wrong answers)
        return {"best": entry(a, path_a), "runner_up": None}
    b, path_b = others[0]
    return {
        "best": entry(a, path_a),
        "runner_up": entry(b, path_b),
        **compare(tables[a][path_a], tables[b][path_b], path_a, confidence),
    }
