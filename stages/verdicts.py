"""Stage: per-seed metrics, intervals, verdicts, quality against cost, the article's claims.

Every instance of every predictor of the registry (one per trained seed; an ensemble of
disjoint groups, and its temperature-scaled self, over every ensemble its trainings form:
uncertainty.evaluation.verdicts.pools), on the test set and the OOD sets, from the inference stage's outputs
and the fitted temperatures. Writes, as nested JSON metrics (dotted keys in `dvc metrics diff`):

* reports/tables/per_seed.json: predictor -> instance -> metric;
* reports/tables/seeds.json: predictor -> metric -> mean, std, 95 % t-interval over
  seeds, and the interval over seeds and test images (uncertainty.evaluation.statistics);
* reports/tables/verdicts.json: A -> B -> metric -> difference A − B, interval, p-values,
  verdict, for each pair of verdicts.comparisons;
* reports/metrics/seeds.json and verdicts.json: the same for the verdict table's metrics only,
  each interval as mean (or difference), low, high and verdict: what `dvc metrics diff` compares;
* reports/metrics/claims.json: the article's claims (uncertainty.evaluation.claims): held, contradicted, undecided;
* reports/metrics/summary.json: per job (accuracy, calibration, detecting MNIST digits, refusing
  uncertain inputs), the predictor with the best mean, the runner-up and their difference; and
  the verdict table read at once (Benjamini-Hochberg over its p-values);
* reports/plots/curve_passes.csv and curve_members.csv: quality against MC passes T (mean
  and std over the first mc_dropout predictor's seeds) and against ensemble size M (the
  first ensemble predictor's members in order).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.article import not_the_article
from uncertainty.core.io import read_json, write_json, write_text
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.core.schema.evaluate import Evaluate
from uncertainty.core.schema.ood import Ood
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.regression import Regression
from uncertainty.core.schema.train import Train
from uncertainty.core.schema.verdicts import Verdicts
from uncertainty.core.vocabulary import first_ood, ood_sets, use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.evaluation import corrupted, statistics
from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation import verdicts as v
from uncertainty.evaluation.claims import decide_all
from uncertainty.evaluation.curves import csv_text
from uncertainty.methods.predictors import KINDS, Inference, Predictor, build, ensemble_output, has_set

SECTIONS = {
    "corrupt": Corrupt,
    "evaluate": Evaluate,
    "ood": Ood,
    "predictors": Predictors,
    "regression": Regression,
    "train": Train,  # which run is the article's (uncertainty.core.article): its claims are decided there only
    "verdicts": Verdicts,
}  # the params.yaml sections it reads


def curve_row(
    test: dict[str, np.ndarray], ood: dict[str, np.ndarray], labels: np.ndarray, n_bins: int
) -> dict[str, float]:
    """The curve metrics of one predictor output restricted to the test images and the first OOD set's."""
    sets = {"test": test, first_ood(): ood}
    chosen = {path[0] for path in registry.curve_metrics().values()}
    found = registry.kernels(
        sets.__getitem__, labels, ("entropy", "mutual_information"), n_bins, (first_ood(),),
        chosen=lambda metric: metric.name in chosen,
    )  # fmt: skip
    weights = registry.ones({"test": len(labels), first_ood(): len(ood["mean"])})
    return {column: found[path](weights) for column, path in registry.curve_metrics().items()}


def curve_passes(predictor: Predictor, inference: Inference, labels: np.ndarray, n_bins: int) -> str:
    """Quality against T: per t, the mean and std over the predictor's seeds of the first t passes' metrics."""
    rows = []
    per_model = {
        m: (inference(m, "test"), inference(m, first_ood())) for i in predictor.instances for m in i.models
    }
    passes = next(iter(per_model.values()))[0]["curve_passes"]
    for index, t in enumerate(passes):
        values = [
            curve_row(
                {"mean": test["curve_mean"][index], "mean_entropy": test["curve_mean_entropy"][index]},
                {"mean": mnist["curve_mean"][index], "mean_entropy": mnist["curve_mean_entropy"][index]},
                labels,
                n_bins,
            )
            for test, mnist in per_model.values()
        ]
        row: dict[str, float] = {"passes": int(t)}
        for column in registry.curve_metrics():
            column_values = [value[column] for value in values]
            row[column], row[f"{column}_std"] = (
                float(np.mean(column_values)),
                float(np.std(column_values, ddof=1)),
            )
        rows.append(row)
    return csv_text(rows)


def curve_members(predictor: Predictor, inference: Inference, labels: np.ndarray, n_bins: int) -> str:
    """Quality against M: the ensemble of its first M members, M = 1 ... all."""
    members = predictor.first.models
    rows = []
    for size in range(1, len(members) + 1):
        output = ensemble_output(inference, members[:size])
        rows.append({"members": size, **curve_row(output("test"), output(first_ood()), labels, n_bins)})
    return csv_text(rows)


def main(params: Any, paths: argparse.Namespace) -> None:
    info = read_info(paths.info)
    use_data_sets(info.ood, info.noise)  # the data's own OOD sets join the vocabulary
    p, n_bins = params.verdicts, params.evaluate.ece_bins
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    predictors = build(params, inference, read_json(paths.temperature), posthoc)
    first = next(iter(predictors.values())).first  # every instance sees the same images
    labels = inference.labels(first.models[0])
    # An ensemble of disjoint groups is judged over every ensemble its trainings form (a pool)
    pooled = v.pools(params, predictors, inference)
    instances = {name: pooled[name][0] if name in pooled else pr.instances for name, pr in predictors.items()}
    designs = {
        name: pooled[name][1] if name in pooled else v.Design(tuple(i.name for i in pr.instances))
        for name, pr in predictors.items()
    }
    # A pool's ensembles are made of its own instances' trainings: those tell whether it has the set.
    under_corruption = {
        name: has_set(predictor.instances, corrupted.SET) for name, predictor in predictors.items()
    }
    shared: dict[tuple[Any, ...], Any] = {}  # kernels of the same arrays, built once (and resampled once)

    def kernels_of(name: str, instance: Any) -> Any:
        """An instance's kernels, built when replicates reaches it; a pool's ensemble forgets its outputs
        then (hundreds of them would not fit in memory together) and shares no kernel."""
        predictor, pool = predictors[name], name in pooled

        def build() -> dict[Any, Any]:
            found = registry.kernels(
                instance.output,
                labels,
                predictor.scores,
                n_bins,
                ood_sets(),
                ood_score=predictor.ood_score,
                shared=None if pool else shared,
            )
            if under_corruption[name]:
                found |= corrupted.kernels(
                    instance.output(corrupted.SET), labels, n_bins, params.corrupt, None if pool else shared
                )
            if pool and hasattr(instance.output, "cache_clear"):
                instance.output.cache_clear()
            return found

        return build

    instance_metrics = {name: [kernels_of(name, i) for i in instances[name]] for name in predictors}  # fmt: skip
    sizes = {"test": len(labels), **{s: len(first.output(s)["mean"]) for s in ood_sets()}}
    shift_sizes = (
        {corrupted.SET: first.output(corrupted.SET)["mean"].shape[1]}
        if has_set([first], corrupted.SET)
        else {}
    )
    # A pool's ensembles take the first ensemble_bootstrap rounds of the same draws (a comparison with a
    # pool reads the rounds both have): hundreds of ensembles at every round would cost minutes.
    rounds = {name: p.ensemble_bootstrap if name in pooled else p.bootstrap for name in predictors}
    found_tables = {
        count: v.replicates(
            {n: m for n, m in instance_metrics.items() if rounds[n] == count},
            sizes,
            count,
            p.seed,
            shift_sizes,
            workers=len(os.sched_getaffinity(0)),  # the same values with any number of threads
        )
        for count in sorted(set(rounds.values()))
    }
    tables = {name: found_tables[rounds[name]][name] for name in predictors}
    # the predictor's own instances (a pool's disjoint ensembles) among the columns: the per-seed table
    columns = {
        name: [[i.name for i in instances[name]].index(own.name) for own in pr.instances]
        for name, pr in predictors.items()
    }

    per_seed = {
        name: {
            instance.name: v.nest({m: float(table[0, i]) for m, table in tables[name].items()})
            for i, instance in zip(columns[name], predictor.instances, strict=True)
        }
        for name, predictor in predictors.items()
    }
    seeds = {
        name: v.nest({
            m: v.summarize(table, designs[name], m, p.confidence)
            # a pool keeps the estimate of its disjoint ensembles beside, for comparison
            | ({"disjoint": statistics.summarize(table[:, columns[name]], p.confidence, registry.bounds(m))}
               if name in pooled else {})
            for m, table in metric_tables.items()
        })
        for name, metric_tables in tables.items()
    }  # fmt: skip
    verdicts: dict[str, dict[str, Any]] = {}
    verdict_paths = registry.verdict_paths(ood_sets(), params.corrupt.verdict_severities)
    table_entries = []  # the verdict table's cells, read at once: multiplicity below
    first_of: dict[bytes, tuple[list[str], dict[str, Any]]] = {}
    repeats: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for a, b in p.comparisons:
        found = {  # not where both sides are the same numbers by construction (a score-only predictor's NLL)
            m: v.compare_designs(tables[a][m], designs[a], tables[b][m], designs[b], m, p.confidence)
            for m in tables[a]
            if m in tables[b] and not np.array_equal(tables[a][m], tables[b][m])
        }
        scaled_only = (
            predictors[a].is_scaled_version_of(predictors[b]) and KINDS[predictors[a].kind].keeps_top_class
        )  # the same top class: accuracy is equal
        for m in verdict_paths:
            if m not in found or (scaled_only and m == ("accuracy",)):
                continue
            # The same two tables compared again (a score-only predictor's NLL against the same B): one
            # comparison, counted once; the repeat points to the first and shares its adjusted p-value.
            key = hashlib.sha256(tables[a][m].tobytes() + tables[b][m].tobytes()).digest()
            if key in first_of:
                found[m]["same_as"] = first_of[key][0]
                repeats.append((found[m], first_of[key][1]))
            else:
                first_of[key] = ([a, b], found[m])
                table_entries.append(found[m])
        verdicts.setdefault(a, {})[b] = v.nest(found)
    multiplicity = statistics.adjust_for_many(table_entries, 1 - p.confidence)
    for repeat, first in repeats:
        repeat.update(p_adjusted=first["p_adjusted"], survives=first["survives"])
    claims = decide_all(
        {
            "seeds": seeds,
            "verdicts": verdicts,
            "regression": read_json(paths.regression_metrics),
            "mc_batch": read_json(paths.mc_batch_metrics),
        },
        params,
        article=not_the_article(info.source, params.train) is None,
    )

    summary = {
        "jobs": {
            job.key: best
            for job in registry.jobs(params.corrupt.verdict_severities)
            if (best := v.best_for_job(tables, job.paths(), p.confidence, designs)) is not None
        },
        "multiplicity": multiplicity,
    }

    write_json(paths.summary, summary)
    write_json(paths.claims, claims)
    # The full tables for the report; the metrics files keep the verdict table's rows (mean and interval).
    write_json(paths.per_seed, per_seed)
    write_json(paths.seeds_table, seeds)
    write_json(paths.verdicts_table, verdicts)
    write_json(paths.seeds, {name: v.headline(found, verdict_paths) for name, found in seeds.items()})
    write_json(
        paths.verdicts,
        {
            a: {b: v.headline(found, verdict_paths) for b, found in against.items()}
            for a, against in verdicts.items()
        },
    )
    by_kind = {
        predictor.kind: predictor for predictor in reversed(list(predictors.values()))
    }  # the first of each
    # Quality against T and M, where the run has an MC dropout and an ensemble predictor (else empty).
    for path, kind, curve in (
        (paths.curve_passes, "mc_dropout", curve_passes),
        (paths.curve_members, "ensemble", curve_members),
    ):
        write_text(path, curve(by_kind[kind], inference, labels, n_bins) if kind in by_kind else "")
    for a, b in p.comparisons:
        words = ", ".join(
            f"{'.'.join(m)} {v.lookup(verdicts[a][b], m)['verdict']}"
            for m in verdict_paths[:5]
            if v.lookup(verdicts[a][b], m)
        )
        print(f"verdicts {a} - {b}: {words}")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
                "inference": "every model's outputs, <model>/<set>.npz (infer stage)",
                "posthoc": "the post-hoc predictors' outputs, <predictor>/<model>/<set>.npz (posthoc stage)",
                "temperature": "the fitted temperatures (temperature stage)",
                "regression-metrics": "the regressors' spreads, for the claims (regression stage)",
                "mc-batch-metrics": "the MC batch's accuracies, for the claims (mc_batch stage)",
                "per-seed": "predictor -> instance -> metric, JSON (a table for the report)",
                "seeds": "predictor -> verdict-table metric -> mean and interval over seeds and images, JSON",
                "verdicts": "A -> B -> verdict-table metric -> difference, interval, verdict, JSON",
                "seeds-table": "predictor -> metric -> mean, std and intervals over seeds, JSON (every metric)",
                "verdicts-table": "A -> B -> metric -> difference, interval, p-values, verdict, JSON (every metric)",
                "claims": "the article's claims: held, contradicted or undecided, JSON",
                "summary": "per job: the best predictor, the runner-up, A − B; the verdict table read at once, JSON",
                "curve-passes": "quality against MC passes T, CSV (DVC plots)",
                "curve-members": "quality against ensemble size M, CSV (DVC plots)",
            },
        ),
    )
