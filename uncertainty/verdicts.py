"""Verdicts that hold up: every resampled metric of every predictor instance, over seeds and test images.

A predictor here is a list of seeded instances (one per independent training; an ensemble built
from disjoint groups is one instance per group). Each instance's metrics are the registry's
kernels (uncertainty.metric_registry): per-image arrays reduced by image weights, so a bootstrap
resample of the images is a vector of integer weights, and one draw of weights per set serves
every predictor and metric alike (uncertainty.statistics: the draws, the interval over seeds and
images, the words). A comparison of a predictor with its own temperature-scaled self takes the
per-seed differences (they are the same trainings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from uncertainty import statistics
from uncertainty.metric_registry import MetricPath, Reduction, higher_is_better


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


HEADLINE = ("mean", "low", "high", "difference", "verdict")  # what a metrics file keeps of an interval


def headline(table: Mapping[str, Any], paths: Sequence[MetricPath]) -> dict[str, Any]:
    """A metrics file's view of a full nested table: at each of `paths` (where the table has it), the
    interval's HEADLINE fields; `dvc metrics diff` then lists what a reader compares across commits."""
    found = {path: lookup(table, path) for path in paths}
    return nest({path: {k: v[k] for k in HEADLINE if k in v} for path, v in found.items() if v is not None})


def replicates(
    predictors: Mapping[str, Sequence[Mapping[MetricPath, Reduction]]],
    sizes: Mapping[str, int],
    rounds: int,
    seed: int,
) -> dict[str, dict[MetricPath, np.ndarray]]:
    """predictor -> metric -> array (rounds + 1, seeds): row 0 on the full data, then one row per image resample.

    Every round draws one weight vector per set (statistics.weight_rounds) and evaluates every
    instance on it, so all predictors see the same resampled images.
    """
    out = {
        predictor: {
            metric: np.full((rounds + 1, len(instances)), np.nan)
            for metric in instances[0]
            if all(metric in inst for inst in instances)
        }
        for predictor, instances in predictors.items()
    }
    for r, weights in enumerate(statistics.weight_rounds(sizes, rounds, seed)):
        for predictor, instances in predictors.items():
            for metric, table in out[predictor].items():
                for i, inst in enumerate(instances):
                    table[r, i] = inst[metric](weights)
    return out


def compare(
    table_a: np.ndarray, table_b: np.ndarray, metric: MetricPath, confidence: float, paired: bool = False
) -> dict[str, float | str]:
    """statistics.compare for a metric of the registry (its direction says which sign is better)."""
    return statistics.compare(table_a, table_b, higher_is_better(metric), confidence, paired)


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

    def mean(pair: tuple[str, MetricPath]) -> float:
        return float(tables[pair[0]][pair[1]][0].mean())

    best_each = [
        max(
            ((name, path) for path in paths if path in tables[name]),
            key=lambda pair: mean(pair) * (1 if higher else -1),
        )
        for name in tables
        if any(path in tables[name] for path in paths)
    ]
    same = (lambda a, b: list(trainings[a[0]]) == list(trainings[b[0]])) if trainings is not None else None
    (a, path_a), runner_up = statistics.best_and_runner_up(best_each, mean, higher, *([same] if same else []))

    def entry(name: str, path: MetricPath) -> dict[str, Any]:
        return {"predictor": name, "metric": list(path), "mean": float(tables[name][path][0].mean())}

    if runner_up is None:  # no other method has the metric (a misclassification AUROC needs wrong answers)
        return {"best": entry(a, path_a), "runner_up": None}
    b, path_b = runner_up
    return {
        "best": entry(a, path_a),
        "runner_up": entry(b, path_b),
        **compare(tables[a][path_a], tables[b][path_b], path_a, confidence),
    }
