"""Every metric of the evaluation declared once: its key, its words, which direction is better, what it
is measured over, the range its values lie in, and the kernel that computes it for any per-image weights.

A kernel is built once per predictor instance from its outputs (sorting, per-image terms: the
expensive part) and returns a reduction `weights -> float`, where `weights` maps each set name to
per-image weights (ones for the point estimate, a resample's counts for a bootstrap round), so the
evaluate stage's values and the verdicts stage's bootstrap run the same arithmetic. Given a block
of resamples, each set's weights (R, N), a reduction returns their R values at once (uncertainty.evaluation.metrics). The scopes:

* "test": one number on the test set, kernel(Test) (the predictive `mean`, `labels`, `correct`);
* "score": one number per uncertainty score on the test set, kernel(Test, the score's name);
* "ood": one number per OOD set and score, kernel(score on the test set, score on the OOD set, set name);
* "set": one number per OOD set, kernel(the predictor's output on it, set name).

Every stage iterates METRICS: evaluate writes each metric with a `file` at the article instance
(eval.json, selective.json, ood.json; `shift` ones also per rotation), verdicts resamples the
`bootstrap` ones over seeds and images (per_seed.json, seeds.json, verdicts.json), the verdict
table shows the `verdict` ones, the summary's jobs name them, the report and figures label them
from here. Adding a metric is one entry.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from uncertainty.core.vocabulary import INPUT_SETS, OWN_SCORE, SCORES, first_ood, score_label, set_label
from uncertainty.evaluation import metrics

Weights = Mapping[str, np.ndarray]  # set name -> (N_set,) non-negative weights
Reduction = Callable[[Weights], float]
MetricPath = tuple[str, ...]  # a metric's place in the nested JSON: ("ood_auroc", "mnist", "entropy")
RISK = 0.05  # the selective risk of `coverage_at_risk`
# A metric's `bounds`, the range of its values: its intervals are clipped to it (uncertainty.evaluation.statistics).
SHARE = (0.0, 1.0)  # a share, a rate, a probability, an AUROC, a calibration gap


class Test:
    """One instance's test-set output, labels and uncertainty scores, with the per-image terms computed once."""

    def __init__(
        self,
        mean: np.ndarray,
        labels: np.ndarray,
        n_bins: int,
        scores: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.mean, self.labels, self.n_bins, self.scores = mean, labels, n_bins, scores or {}
        self._selective: dict[str, metrics.Selective] = {}

    @functools.cached_property
    def correct(self) -> np.ndarray:
        return metrics.correct_terms(self.mean, self.labels)

    def selective(self, score: str) -> metrics.Selective:
        """One sort per score, shared by the selective metrics (which share its curve per resample)."""
        if score not in self._selective:
            self._selective[score] = metrics.Selective(self.scores[score], self.correct)
        return self._selective[score]


def _mean_of(terms: np.ndarray) -> Reduction:
    return lambda w: metrics.mean_of(terms, w["test"])


def _binned(parts: tuple[np.ndarray, np.ndarray], n_bins: int) -> Reduction:
    index, gap = parts
    return lambda w: metrics.binned_gap(index, gap, w["test"], n_bins)


def _misclassification(t: Test, score: str) -> Reduction | None:
    values, right = t.scores[score], t.correct == 1
    if not 0 < right.sum() < len(right):  # no wrong (or no right) answer: nothing to detect
        return None
    ranked = metrics.Ranked(values[right], values[~right])
    return lambda w: ranked.auroc(
        np.compress(right, w["test"], axis=-1), np.compress(~right, w["test"], axis=-1)
    )


def _selective(statistic: str) -> Callable[[Test, str], Reduction]:
    def kernel(t: Test, score: str) -> Reduction:
        selective = t.selective(score)
        return lambda w: selective.statistic(statistic, w["test"], RISK)

    return kernel


def _ood_auroc(score_in: np.ndarray, score_out: np.ndarray, set_name: str) -> Reduction:
    ranked = metrics.Ranked(score_in, score_out)
    return lambda w: ranked.auroc(w["test"], w[set_name])


def _ood_sklearn(statistic: Callable[..., float]) -> Callable[[np.ndarray, np.ndarray, str], Reduction]:
    """AUPR and FPR95 (scikit-learn's curves): measured at the article instance only, never resampled."""

    def kernel(score_in: np.ndarray, score_out: np.ndarray, set_name: str) -> Reduction:
        return lambda w: statistic(score_in, score_out, w["test"], w[set_name])

    return kernel


def _max_prob(output: Mapping[str, np.ndarray], set_name: str) -> Reduction:
    top = np.asarray(output["mean"], dtype=np.float64).max(axis=1)
    return lambda w: metrics.mean_of(top, w[set_name])


@dataclass(frozen=True)
class Metric:
    name: str  # its key in per_seed/seeds/verdicts.json (the head of its path)
    label: str  # its words; "{set}" and "{score}" are filled in
    higher_is_better: bool
    scope: str  # "test", "score", "ood" or "set" (module docstring)
    kernel: Callable[..., Reduction | None]
    file: str | None  # evaluate's metrics file for the article instance: eval, selective, ood; None: none
    key: str | None = None  # its key in that file, where it differs from `name`
    bootstrap: bool = True  # resampled over seeds and images by the verdicts stage
    verdict: bool = False  # a row of the verdict table (and of the multiplicity count)
    shift: bool = (
        False  # also under shift: per rotation (shift.json), per corruption and as the mean over corruptions
    )
    resampled_scores: tuple[str, ...] | None = None  # a per-score metric's scores resampled (None: all)
    digits: int = 4  # decimals in tables
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the range its values lie in, by definition

    @property
    def file_key(self) -> str:
        return self.key or self.name

    def header(self, set_name: str | None = None) -> str:
        """Its words as a column header where the score has a column of its own: "AUROC MNIST"."""
        text = self.label.replace(" ({score})", "")
        return text.format(set=set_label(set_name)) if set_name else text


METRICS: tuple[Metric, ...] = (
    Metric(
        "accuracy", "accuracy", True, "test", lambda t: _mean_of(t.correct), "eval", verdict=True, shift=True,
        bounds=SHARE,
    ),
    # −log p(y) >= 0, unbounded above by definition (the floor on p(y) caps each term at ~27.6)
    Metric(
        "nll", "NLL", False, "test", lambda t: _mean_of(metrics.nll_terms(t.mean, t.labels)), "eval",
        verdict=True, shift=True, bounds=(0.0, math.inf),
    ),
    Metric(
        "brier", "Brier", False, "test", lambda t: _mean_of(metrics.brier_terms(t.mean, t.labels)), "eval",
        verdict=True, bounds=(0.0, 2.0),  # Σ_k (p_k − onehot_k)², at most 2 (all mass on a wrong class)
    ),
    Metric(
        "ece", "ECE", False, "test", lambda t: _binned(metrics.ece_parts(t.mean, t.labels, t.n_bins), t.n_bins),
        "eval", verdict=True, shift=True, bounds=SHARE,
    ),
    Metric(
        "adaptive_ece", "adaptive ECE", False, "test",
        lambda t: _binned(metrics.adaptive_ece_parts(t.mean, t.labels, t.n_bins), t.n_bins), "eval",
        bounds=SHARE,
    ),
    Metric(
        "ood_auroc", "AUROC {set} ({score})", True, "ood", _ood_auroc, "ood", key="auroc", verdict=True, digits=3,
        bounds=SHARE,
    ),
    Metric(
        "ood_aupr", "AUPR {set} ({score})", True, "ood", _ood_sklearn(metrics.aupr), "ood", key="aupr",
        bootstrap=False, digits=3, bounds=SHARE,
    ),
    Metric(
        "ood_fpr95", "FPR95 {set} ({score})", False, "ood", _ood_sklearn(metrics.fpr95), "ood", key="fpr95",
        bootstrap=False, digits=3, bounds=SHARE,
    ),
    Metric(
        "misclassification_auroc", "misclassification AUROC ({score})", True, "score", _misclassification, None,
        verdict=True, bounds=SHARE,
    ),
    # Selective prediction: every score at the article instance; over seeds and images by the entropy, the
    # verdict table's score (one curve per image resample: the three share it). AURC is a mean of risks,
    # AUGRC of shares of the inputs, the coverage a share: each in [0, 1].
    Metric(
        "aurc", "AURC ({score})", False, "score", _selective("aurc"), "selective", resampled_scores=("entropy",),
        bounds=SHARE,
    ),
    Metric(
        "augrc", "AUGRC ({score})", False, "score", _selective("augrc"), "selective", resampled_scores=("entropy",),
        bounds=SHARE,
    ),
    Metric(
        "coverage_at_risk", f"coverage at {100 * RISK:g} % risk ({{score}})", True, "score",
        _selective("coverage_at_risk"), "selective", resampled_scores=("entropy",), bounds=SHARE,
    ),
    Metric("max_prob", "mean top probability, {set}", False, "set", _max_prob, None, bounds=SHARE),
)  # fmt: skip
BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}


# The head of a metric's path under corruption: ("corrupted", "ece", "3") is a `shift` metric's mean over
# corruptions at severity 3 (uncertainty.evaluation.corrupted builds its kernels).
CORRUPTED = "corrupted"  # uncertainty.evaluation.corrupted.SET


def metric_of(path: MetricPath) -> Metric:
    return BY_NAME[path[1]] if path[0] == CORRUPTED else BY_NAME[path[0]]


def corrupted_paths(severities: Sequence[int], verdict_only: bool = False) -> tuple[MetricPath, ...]:
    """The `shift` metrics' paths under corruption, metric by metric, each at every severity."""
    return tuple(
        (CORRUPTED, metric.name, str(severity))
        for metric in METRICS
        if metric.shift and (metric.verdict or not verdict_only)
        for severity in severities
    )


def label(path: MetricPath) -> str:
    """("ood_auroc", "mnist", "entropy") -> "AUROC MNIST (entropy)": the words of a metric's path."""
    metric = metric_of(path)
    if path[0] == CORRUPTED:
        return f"{metric.label}, corrupted (severity {path[2]})"
    if metric.scope == "ood":
        return metric.label.format(set=set_label(path[1]), score=score_label(path[2]))
    if metric.scope == "score":
        return metric.label.format(score=score_label(path[1]))
    if metric.scope == "set":
        return metric.label.format(set=set_label(path[1]))
    return metric.label


def higher_is_better(path: MetricPath) -> bool:
    return metric_of(path).higher_is_better


def bounds(path: MetricPath) -> tuple[float, float]:
    """The range of a metric's values (a `shift` metric's mean over corruptions: the metric's own)."""
    return metric_of(path).bounds


# --------------------------------------------------------------------------- one instance's kernels


def kernels(
    output: Callable[[str], Mapping[str, np.ndarray]],
    labels: np.ndarray,
    scores: Sequence[str],
    n_bins: int,
    ood_sets: Sequence[str],
    ood_score: str = "entropy",
    chosen: Callable[[Metric], bool] = lambda metric: metric.bootstrap,
    own_score: bool = True,
    shared: dict[tuple[Any, ...], Reduction | None] | None = None,
) -> dict[MetricPath, Reduction]:
    """Every `chosen` metric of one predictor instance as a reduction of the image weights of each set.

    `scores`: the scores the predictor offers. With `own_score` (the verdicts stage) the OOD metrics
    take the scores declared `ood` and the predictor's own `ood_score`, the latter again under
    OWN_SCORE; without (evaluate's tables) every score it offers. `shared`: kernels already built, by
    the digest of what they read; the same arrays (the plain CNN's softmax under its score-only
    predictors) get the same reduction object, built once.
    """
    test = output("test")
    found: dict[MetricPath, Reduction] = {}
    scores_in = metrics.uncertainty_scores(test, tuple(scores))
    context = Test(test["mean"], labels, n_bins, scores_in)

    def built(metric: Metric, reads: tuple[Any, ...], *arguments: Any) -> Reduction | None:
        if shared is None:
            return metric.kernel(*arguments)
        key = (metric.name, *(metrics.digest(x) if isinstance(x, np.ndarray) else x for x in reads))
        if key not in shared:
            shared[key] = metric.kernel(*arguments)
        return shared[key]

    for metric in filter(chosen, METRICS):
        if metric.scope == "test":
            found[(metric.name,)] = built(metric, (test["mean"], labels, n_bins), context)
        elif metric.scope == "score":
            for score in scores_in:
                if own_score and metric.resampled_scores is not None and score not in metric.resampled_scores:
                    continue
                reads = (test["mean"], labels, scores_in[score])
                reduction = built(metric, reads, context, score)
                if reduction is not None:
                    found[(metric.name, score)] = reduction
    offered = tuple(s for s in scores if not own_score or SCORES[s].ood or s == ood_score)
    for set_name in ood_sets:
        out = output(set_name)
        scores_out = metrics.uncertainty_scores(out, offered)
        for metric in filter(chosen, METRICS):
            if metric.scope == "set":
                found[(metric.name, set_name)] = built(metric, (out["mean"], set_name), out, set_name)
            elif metric.scope == "ood":
                for score, values in scores_out.items():
                    reads = (scores_in[score], values, set_name)
                    found[(metric.name, set_name, score)] = built(
                        metric, reads, scores_in[score], values, set_name
                    )
                if own_score:
                    found[(metric.name, set_name, OWN_SCORE)] = found[(metric.name, set_name, ood_score)]
    return found


def ones(sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """The weights of the point estimate: every image once."""
    return {set_name: np.ones(n) for set_name, n in sizes.items()}


# --------------------------------------------------------------------------- the verdict table and the jobs


def verdict_paths(ood_sets: Sequence[str], severities: Sequence[int] = ()) -> tuple[MetricPath, ...]:
    """The verdict table's rows, in METRICS' order: an OOD metric by each predictor's own score per set,
    a per-score metric by the entropy; then the `shift` ones under corruption at `severities`."""
    paths: list[MetricPath] = []
    for metric in METRICS:
        if not metric.verdict:
            continue
        if metric.scope == "ood":
            paths += [(metric.name, set_name, OWN_SCORE) for set_name in ood_sets]
        elif metric.scope == "score":
            paths.append((metric.name, "entropy"))
        elif metric.scope == "set":
            paths += [(metric.name, set_name) for set_name in ood_sets]
        else:
            paths.append((metric.name,))
    return (*paths, *corrupted_paths(severities, verdict_only=True))


@dataclass(frozen=True)
class Job:
    """What a practitioner picks a predictor for, and the metric that judges it (the best score counts)."""

    key: str
    label: str
    metric: str
    severity: int | None = None  # under corruption: the metric's mean over corruptions at this severity

    def paths(self) -> tuple[MetricPath, ...]:
        metric = BY_NAME[self.metric]
        if self.severity is not None:
            return ((CORRUPTED, metric.name, str(self.severity)),)
        if metric.scope == "ood":  # detecting the data's first OOD set, by any score measured over seeds
            return tuple((metric.name, first_ood(), score) for score, s in SCORES.items() if s.ood)
        if metric.scope == "score":
            return tuple((metric.name, score) for score in SCORES)
        return ((metric.name,),)


def jobs(severities: Sequence[int] = ()) -> tuple[Job, ...]:
    """What a practitioner picks a predictor for (detecting the data's first OOD set among them), then
    calibration under corruption (ECE, the mean over corruptions) at each of `severities`."""
    ood = first_ood()
    under = tuple(
        Job(
            f"calibration_ece_corrupted_{s}",
            f"calibration under corruption: ECE, severity {s}",
            "ece",
            severity=s,
        )
        for s in severities
    )
    return (
        Job("accuracy", "accuracy", "accuracy"),
        Job("calibration_nll", "calibration: NLL", "nll"),
        Job("calibration_ece", "calibration: ECE", "ece"),
        Job(f"detecting_{ood}", f"detecting {INPUT_SETS[ood].words} (out of distribution)", "ood_auroc"),
        Job("refusing_uncertain_inputs", "refusing uncertain inputs (flagging its own errors)", "misclassification_auroc"),
        *under,
    )  # fmt: skip


def curve_metrics() -> dict[str, MetricPath]:
    """The quality-against-cost curves (the verdicts stage's CSVs against MC passes T and ensemble size M):
    column -> metric, on the test set and the data's first OOD set."""
    ood = first_ood()
    return {
        "accuracy": ("accuracy",),
        "nll": ("nll",),
        "ece": ("ece",),
        f"auroc_{ood}": ("ood_auroc", ood, "entropy"),
        f"auroc_{ood}_mutual_information": ("ood_auroc", ood, "mutual_information"),
    }


def curve_panels() -> tuple[str, ...]:
    """The quality-against-cost figure's panels, in order."""
    return ("accuracy", "nll", "ece", f"auroc_{first_ood()}_mutual_information")
