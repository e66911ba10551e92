"""The corrupted test set read by corruption and severity: its rows, and the metrics under shift.

The corrupt stage writes the first n test images under every corruption of corrupt.corruptions at
every severity of corrupt.severities, corruption-major (row c * S + s); a predictor's output on the
`corrupted` set is (C * S, n, ...) in that order. Ovadia et al. (2019) judge a predictor under shift
by its metrics per corruption and their spread over corruptions at each severity; here each
severity's summary is the mean over corruptions, and it is resampled like every other metric: one
weight per clean image (set "corrupted", n images), the same under every corruption, because the C
corrupted versions of one image are not independent draws.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from uncertainty.core.errors import PipelineError
from uncertainty.evaluation import metrics
from uncertainty.methods.predictors import repeats

Reduction = Callable[[Mapping[str, np.ndarray]], float]
SET = "corrupted"  # the set name of the inference outputs and of the image weights, the head of its metric paths


def conditions(p: Any) -> list[tuple[str, int]]:
    """(corruption, severity) per row of the corrupted set, from params.yaml's `corrupt` section."""
    return [(name, severity) for name in p.corruptions for severity in p.severities]


def rows_at(p: Any, severity: int) -> np.ndarray:
    """The rows of one severity, one per corruption (C,)."""
    return np.asarray([i for i, (_, s) in enumerate(conditions(p)) if s == severity])


def check_layout(arrays: Mapping[str, np.ndarray], p: Any, where: str) -> None:
    """The inference output's rows are the conditions params.yaml names (a stale file would misname them)."""
    found = list(zip(arrays["corruption"].tolist(), arrays["severity"].tolist(), strict=True))
    if found != conditions(p):
        raise PipelineError(
            f"{where}: its corrupted rows are not corrupt.corruptions x corrupt.severities of params.yaml; "
            "run dvc repro"
        )


def same_probabilities(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two predictors' corruption tables (evaluate stage) with the same metrics everywhere: the same
    probabilities (a score-only predictor is the plain CNN again, its shift AUROC by its own score apart)."""

    def quality(table: Mapping[str, Any]) -> Any:
        return {c: {s: {k: v for k, v in at.items() if k != "shift_auroc"} for s, at in by.items()}
                for c, by in table["conditions"].items()}  # fmt: skip

    return quality(a) == quality(b)


def distinct(names: Iterable[str], table: Mapping[str, Any]) -> list[str]:
    """The predictors of `names` (in that order) with a corruption table whose probabilities no earlier one has."""
    kept = [name for name in names if name in table]
    twins = repeats(kept, lambda a, b: same_probabilities(table[a], table[b]))
    return [name for name in kept if name not in twins]


def per_image_mean(terms: np.ndarray) -> Reduction:
    """A per-image term (C, n) averaged over corruptions: the mean over corruptions of its weighted mean."""
    averaged = terms.mean(axis=0)
    return lambda w: metrics.mean_of(averaged, w[SET])


def mean_ece(mean: np.ndarray, labels: np.ndarray, n_bins: int) -> Reduction:
    """The mean over corruptions of each corruption's ECE: one bincount, corruption c's bins offset by c * B."""
    parts = [metrics.ece_parts(m, labels, n_bins) for m in mean]
    index = np.concatenate([c * n_bins + i for c, (i, _) in enumerate(parts)])
    gap = np.concatenate([g for _, g in parts])
    count = len(parts)
    return lambda w: metrics.binned_gap(index, gap, np.tile(w[SET], count), count * n_bins)


# The registry's `shift` metrics (uncertainty.evaluation.metric_registry: accuracy, NLL, ECE), each as the mean over
# corruptions at one severity from the predictor's (C, n, K) output there; a test checks each against the
# registry's own kernel per corruption.
MEAN_OVER_CORRUPTIONS: dict[str, Callable[[np.ndarray, np.ndarray, int], Reduction]] = {
    "accuracy": lambda mean, labels, n_bins: per_image_mean(
        np.stack([metrics.correct_terms(m, labels) for m in mean])
    ),
    "nll": lambda mean, labels, n_bins: per_image_mean(
        np.stack([metrics.nll_terms(m, labels) for m in mean])
    ),
    "ece": mean_ece,
}


def kernels(
    output: Mapping[str, np.ndarray],
    labels: np.ndarray,
    n_bins: int,
    p: Any,
    shared: dict[tuple[Any, ...], Any] | None = None,
) -> dict[tuple[str, ...], Reduction]:
    """("corrupted", metric, "<severity>") -> the reduction of the image weights, for every severity;
    `shared` as metric_registry.kernels': the same output gets the same reductions, built once."""
    mean = output["mean"]
    n = mean.shape[1]
    key = (
        SET,
        metrics.digest(mean),
        metrics.digest(labels[:n]),
        n_bins,
        tuple(p.corruptions),
        tuple(p.severities),
    )
    if shared is not None and key in shared:
        return shared[key]
    found = {
        (SET, name, str(severity)): build(mean[rows_at(p, severity)], labels[:n], n_bins)
        for severity in p.severities
        for name, build in MEAN_OVER_CORRUPTIONS.items()
    }
    if shared is not None:
        shared[key] = found
    return found
