"""Verdicts that hold up: every resampled metric of every predictor instance, over seeds and test images.

A predictor here is a list of seeded instances: one per independent training, or for an ensemble
pooled over its trainings one per member subset (uncertainty.evaluation.subsets: the mean over every ensemble
of M the n trainings form, a U-statistic with its variance by the jackknife over trainings). Each
instance's metrics are the registry's kernels (uncertainty.evaluation.metric_registry): per-image arrays
reduced by image weights, so a bootstrap resample of the images is a vector of integer weights, and
one draw of weights per set serves every predictor and metric alike (uncertainty.evaluation.statistics: the
draws, the interval over seeds and images, the words). A `Design` says what a table's columns are,
so a comparison pairs what shares trainings: a predictor with its temperature-scaled self seed by
seed, an ensemble with a single-model method on the same trainings subset by subset.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from uncertainty.evaluation import statistics, subsets
from uncertainty.evaluation.metric_registry import MetricPath, Reduction, bounds, higher_is_better
from uncertainty.methods.predictors import (
    KINDS,
    Inference,
    Instance,
    Predictor,
    ensemble_groups,
    ensemble_mean,
    ensemble_output,
    recalibrated,
    temperature_halves,
)


@dataclass(frozen=True)
class Design:
    """What a predictor's table columns are: one per training of `trainings` (members None), or one per
    ensemble of `members` (each row indices into `trainings`) pooled over the trainings."""

    trainings: tuple[str, ...]
    members: np.ndarray | None = None

    def same_as(self, other: Design) -> bool:
        """The same columns: the same trainings, and the same subsets of them or none."""
        if self.trainings != other.trainings or (self.members is None) != (other.members is None):
            return False
        return self.members is None or np.array_equal(self.members, other.members)


def pools(
    params: Any, built: Mapping[str, Predictor], inference: Inference
) -> dict[str, tuple[list[Instance], Design]]:
    """Each ensemble predictor of disjoint ensembles over every ensemble of `members` its trainings form
    (all C(n, M), or verdicts.ensemble_subsets of them drawn with verdicts.seed), and each calibrated
    predictor of one (temperature or a calibrator), each subset cross-fitted as the temperature stage does:
    name -> (one instance per subset, their design)."""
    found: dict[str, tuple[list[Instance], Design]] = {}
    split = None
    for name, spec in params.predictors.items():
        if name not in built:
            continue
        if spec.kind == "ensemble" and len(ensemble_groups(spec)) > 1:
            members = subsets.member_subsets(
                len(spec.models),
                len(ensemble_groups(spec)[0]),
                params.verdicts.ensemble_subsets,
                params.verdicts.seed,
            )
            groups = [tuple(spec.models[j] for j in row) for row in members]
            instances = [Instance("+".join(g), ensemble_output(inference, g), g) for g in groups]
            found[name] = (instances, Design(tuple(spec.models), members))
        elif KINDS[spec.kind].cnns is None and spec.of in found:  # calibrated: temperature or a calibrator
            base, design = found[spec.of]
            labels = inference.labels(base[0].models[0])
            split = split or temperature_halves(len(labels), params.verdicts.seed)
            means = [
                Instance(i.name, ensemble_mean(inference, i.models), i.models) for i in base
            ]  # all it reads
            found[name] = ([recalibrated(spec, i, labels, split) for i in means], design)
    return found


def summarize(table: np.ndarray, design: Design, metric: MetricPath, confidence: float) -> dict[str, Any]:
    """statistics.summarize, or for a pool the U-statistic's (uncertainty.evaluation.subsets), the interval clipped to
    the metric's range."""
    if design.members is None:
        return statistics.summarize(table, confidence, bounds(metric))
    return subsets.u_summarize(table, design.members, len(design.trainings), confidence, bounds(metric))


def compare_designs(
    table_a: np.ndarray, design_a: Design, table_b: np.ndarray, design_b: Design, metric: MetricPath,
    confidence: float,
) -> dict[str, Any]:  # fmt: skip
    """A − B with the interval of the two designs, paired where they share trainings: seed by seed for
    the same trainings, subset by subset for a pool against a single-model method on its trainings (or
    the same pool, e.g. temperature-scaled); otherwise each side's training level counts on its own. Both
    sides' rounds are the same image draws (statistics.weight_rounds), a pool's the first of them."""
    higher = higher_is_better(metric)
    rows = min(len(table_a), len(table_b))  # the image-bootstrap rounds both sides have: the first ones
    table_a, table_b = table_a[:rows], table_b[:rows]
    if design_a.members is None and design_b.members is None:
        return statistics.compare(table_a, table_b, higher, confidence, paired=design_a.same_as(design_b))
    if design_a.members is None:  # B is the pool: B − A, turned round
        found = compare_designs(table_b, design_b, table_a, design_a, metric, confidence)
        low, high = -found["high"], -found["low"]
        return {**found, "difference": -found["difference"], "low": low, "high": high,
                "verdict": statistics.word(low, high, higher)}  # fmt: skip
    shared = design_a.trainings == design_b.trainings and (
        design_b.members is None or np.array_equal(design_a.members, design_b.members)
    )
    return subsets.u_compare(
        table_a, design_a.members, table_b, design_b.members, len(design_a.trainings), higher, confidence,
        "shared_subsets" if shared else "independent",
    )  # fmt: skip


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


Kernels = Mapping[MetricPath, Reduction]  # one instance's metrics (registry.kernels)


def replicates(
    predictors: Mapping[str, Sequence[Kernels | Callable[[], Kernels]]],
    sizes: Mapping[str, int],
    rounds: int,
    seed: int,
    shift_sizes: Mapping[str, int] | None = None,
    workers: int = 1,
) -> dict[str, dict[MetricPath, np.ndarray]]:
    """predictor -> metric -> array (rounds + 1, seeds): row 0 on the full data, then one row per image resample.

    Every round draws one weight vector per set (statistics.weight_rounds) and evaluates every
    instance on it, so all predictors see the same resampled images. Row 0 is each reduction on
    the ones, as the evaluate stage computes it; the resamples go through each reduction a block of
    rounds at a time (statistics.weight_blocks: a reduction takes (R, N) weights per set), instance by
    instance. An instance given as a function that builds its kernels is built when its turn comes
    and let go once its column is filled, so the kernels of hundreds of pooled ensembles never sit in
    memory together. A reduction in several cells (a predictor's own score; a kernel that predictors
    share, built once by registry.kernels' `shared`) is resampled once. `workers` threads take the
    instances (numpy lets go of the GIL in its loops); each value is the same whichever thread computes it.
    """
    ones = {s: np.ones(n) for s, n in {**sizes, **(shift_sizes or {})}.items()}
    blocks = [(0, ones), *statistics.weight_blocks(sizes, rounds, seed, shift_sizes)]
    done: dict[int, tuple[weakref.ref[Any], np.ndarray]] = {}  # id -> (the reduction, its column)

    def column(instance: Kernels | Callable[[], Kernels]) -> dict[MetricPath, np.ndarray]:
        kernels = instance() if callable(instance) else instance
        found: dict[int, np.ndarray] = {}
        todo: dict[int, Reduction] = {}
        for reduction in kernels.values():
            key = id(reduction)
            if key in found or key in todo:
                continue
            seen = done.get(key)
            if seen is not None and seen[0]() is reduction:
                found[key] = seen[1]
            else:
                todo[key] = reduction
        values = {key: np.empty(rounds + 1) for key in todo}
        for rows, weights in blocks:  # one instance's metrics per block: a selective curve serves three
            for key, reduction in todo.items():
                values[key][rows] = reduction(weights)
        for key, reduction in todo.items():
            done[key] = (weakref.ref(reduction), values[key])
        found.update(values)
        return {metric: found[id(reduction)] for metric, reduction in kernels.items()}

    tasks = [(name, instance) for name, instances in predictors.items() for instance in instances]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        columns = list(pool.map(lambda task: column(task[1]), tasks))
    out: dict[str, dict[MetricPath, np.ndarray]] = {}
    for name in predictors:
        own = [found for (task_name, _), found in zip(tasks, columns, strict=True) if task_name == name]
        shared_metrics = [m for m in own[0] if all(m in found for found in own)]
        out[name] = {m: np.column_stack([found[m] for found in own]) for m in shared_metrics}
    return out


def compare(
    table_a: np.ndarray, table_b: np.ndarray, metric: MetricPath, confidence: float, paired: bool = False
) -> dict[str, float | str]:
    """statistics.compare for a metric of the registry (its direction says which sign is better)."""
    return statistics.compare(table_a, table_b, higher_is_better(metric), confidence, paired)


def half_width(found: Mapping[str, Any]) -> float:
    """Half the width of an interval: what an undecided verdict could have seen (within ± this)."""
    return (found["high"] - found["low"]) / 2


def best_for_job(
    tables: Mapping[str, Mapping[MetricPath, np.ndarray]],
    paths: Sequence[MetricPath],
    confidence: float,
    designs: Mapping[str, Design],
) -> dict[str, Any] | None:
    """The predictor with the best mean on the job's metrics, the runner-up, and the difference A − B.

    Each predictor is represented by its best metric of `paths`. The runner-up is the best predictor
    whose columns are not the best one's (`designs`), so that it is another method, not the best one's
    own temperature-scaled self; where every method shares the best one's trainings (a run of one model),
    the best whose numbers differ from its. The difference has the interval and verdict of `compare_designs`.
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
    if not best_each:  # no predictor has the job's metric (no wrong answer: no misclassification AUROC)
        return None
    (a, path_a), runner_up = statistics.best_and_runner_up(
        best_each, mean, higher, lambda x, y: designs[x[0]].same_as(designs[y[0]])
    )
    if runner_up is None:  # every method on the same trainings (one model): the next best that differs at all
        same = lambda x, y: np.array_equal(tables[x[0]][x[1]], tables[y[0]][y[1]])  # noqa: E731
        _, runner_up = statistics.best_and_runner_up(best_each, mean, higher, same)

    def entry(name: str, path: MetricPath) -> dict[str, Any]:
        return {"predictor": name, "metric": list(path), "mean": float(tables[name][path][0].mean())}

    if runner_up is None:  # no other method has the metric (a misclassification AUROC needs wrong answers)
        return {"best": entry(a, path_a), "runner_up": None}
    b, path_b = runner_up
    found = compare_designs(tables[a][path_a], designs[a], tables[b][path_b], designs[b], path_a, confidence)
    return {"best": entry(a, path_a), "runner_up": entry(b, path_b), **found, "half_width": half_width(found)}
