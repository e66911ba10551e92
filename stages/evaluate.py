"""Stage: every predictor's article instance (its first model) on the test set, the OOD sets and the rotations.

From the inference stage's outputs and the fitted temperatures, for each predictor of
the registry (params.yaml `predictors`):

* reports/metrics/eval.json: the registry's test-set metrics (accuracy, NLL, Brier, ECE, ...);
* reports/metrics/selective.json: per score, the registry's selective metrics (AURC, AUGRC,
  coverage at 5 % risk) and the accuracy at each evaluate.coverages;
* reports/metrics/ood.json: per OOD set and score, the registry's OOD metrics (AUROC, AUPR,
  FPR95; the OOD images are the positives);
* reports/tables/shift.json: the registry's `shift` metrics and the mean entropy at each angle (a
  table for the report and figures, not a metrics file: per angle);
* reports/tables/corruption.json: the same per corruption and severity, with the AUROC of the
  predictor's own OOD score at telling the corrupted images from the same images clean, and
  per severity their mean over corruptions (the predictors inferred on the corrupted images);
* DVC plots, one CSV per predictor (and score) in a directory per curve: reliability,
  risk–coverage, ROC per OOD set, shift, and corruption (the means over corruptions against severity,
  severity 0 the same images clean).

The intervals over seeds and images are the verdicts stage's; these are the single-training tables.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.errors import PipelineError
from uncertainty.core.io import read_json, write_json
from uncertainty.core.names import format_number
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.core.schema.evaluate import Evaluate
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.shift import Shift
from uncertainty.core.schema.verdicts import Verdicts
from uncertainty.core.vocabulary import first_ood, ood_sets, use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.evaluation import corrupted, metrics
from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation.curves import write_curves
from uncertainty.evaluation.metric_registry import MetricPath
from uncertainty.methods.predictors import Inference, build, has_set

SECTIONS = {
    "corrupt": Corrupt,
    "evaluate": Evaluate,
    "shift": Shift,
    "predictors": Predictors,
    "verdicts": Verdicts,
}  # the params.yaml sections it reads


COVERAGE_GRID = np.linspace(0.01, 1.0, 100)
FILES = ("eval", "selective", "ood")  # the metrics files of the registry's `file` metrics


def measured(found: dict[MetricPath, Any], sizes: dict[str, int]) -> dict[MetricPath, float]:
    """Each kernel at the point estimate: every image once."""
    weights = registry.ones(sizes)
    return {path: reduction(weights) for path, reduction in found.items()}


def shift_values(mean: np.ndarray, labels: np.ndarray, n_bins: int) -> dict[str, float]:
    """The registry's `shift` metrics and the mean entropy of one condition's (n, K) output."""
    found = registry.kernels(
        {"test": {"mean": mean}}.__getitem__, labels, (), n_bins, (), chosen=lambda metric: metric.shift
    )
    values = {path[0]: value for path, value in measured(found, {"test": len(labels)}).items()}
    values["entropy"] = float(metrics.entropy(mean).mean())
    return values


def corruption_table(
    output: dict[str, np.ndarray], clean: dict[str, np.ndarray], labels: np.ndarray, score: str, params: Any
) -> dict[str, Any]:
    """Per corruption and severity the shift values and the AUROC of `score` (corrupted positive against the
    same images clean); per severity their mean over corruptions, severity 0 the clean images."""
    n, n_bins = output["mean"].shape[1], params.evaluate.ece_bins
    clean_values = {key: value[:n] for key, value in clean.items() if np.shape(value)[:1] == (len(labels),)}
    clean_score = metrics.uncertainty_scores(clean_values, (score,))[score]
    table: dict[str, Any] = {
        "clean": shift_values(clean_values["mean"], labels[:n], n_bins),
        "conditions": {},
    }
    table["clean"]["shift_auroc"] = metrics.auroc(clean_score, clean_score)  # 0.5: nothing to tell apart
    rows = []
    for row, (name, severity) in enumerate(corrupted.conditions(params.corrupt)):
        at = {key: output[key][row] for key in metrics_keys(output)}
        values = shift_values(at["mean"], labels[:n], n_bins)
        values["shift_auroc"] = metrics.auroc(clean_score, metrics.uncertainty_scores(at, (score,))[score])
        table["conditions"].setdefault(name, {})[str(severity)] = values
        rows.append(values)
    table["severity"] = {
        str(s): {q: float(np.mean([table["conditions"][c][str(s)][q] for c in params.corrupt.corruptions])) for q in rows[0]}
        for s in params.corrupt.severities
    }  # fmt: skip
    return table


def metrics_keys(output: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The per-image scores of a shift set's output: arrays with the leading (condition, image) axes."""
    lead = output["mean"].shape[:2]
    return tuple(key for key, value in output.items() if np.shape(value)[:2] == lead)


def main(params: Any, paths: argparse.Namespace) -> None:
    use_data_sets(*read_info(paths.info).input_sets)  # the data's own OOD sets join the vocabulary
    p = params.evaluate
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    predictors = build(params, inference, read_json(paths.temperature), posthoc)
    files: dict[str, dict[str, Any]] = {name: {} for name in FILES}
    files["ood"] = {set_name: {} for set_name in ood_sets()}
    shift: dict[str, Any] = {}
    corruption: dict[str, Any] = {}
    reliability, risk_coverage, shift_curves, corruption_curves = {}, {}, {}, {}
    roc: dict[str, dict[str, Any]] = {set_name: {} for set_name in ood_sets()}
    angles = params.shift.angles

    for name, predictor in predictors.items():
        instance = predictor.first
        test = instance.output("test")
        labels = inference.labels(instance.models[0])
        sizes = {"test": len(labels), **{s: len(instance.output(s)["mean"]) for s in ood_sets()}}
        found = registry.kernels(
            instance.output, labels, predictor.scores, p.ece_bins, ood_sets(),
            chosen=lambda metric: metric.file is not None, own_score=False,
        )  # fmt: skip
        for path, value in measured(found, sizes).items():
            metric = registry.metric_of(path)
            if metric.scope == "test":  # eval.json: predictor -> metric
                files[metric.file].setdefault(name, {})[metric.file_key] = value
            elif metric.scope == "score":  # selective.json: predictor -> score -> metric
                files[metric.file].setdefault(name, {}).setdefault(path[1], {})[metric.file_key] = value
            else:  # ood.json: set -> predictor -> score -> metric
                files[metric.file][path[1]].setdefault(name, {}).setdefault(path[2], {})[metric.file_key] = (
                    value
                )

        bins = metrics.reliability_bins(test["mean"], labels, p.ece_bins)
        edges = bins.pop("edges")
        reliability[name] = {"confidence_bin": (edges[:-1] + edges[1:]) / 2, **bins}

        correct = metrics.correct_terms(test["mean"], labels)
        scores_in = metrics.uncertainty_scores(test, predictor.scores)
        for score, values in scores_in.items():
            curve = metrics.risk_coverage(values, correct)
            files["selective"][name][score]["accuracy_at"] = {
                format_number(c): metrics.accuracy_at_coverage(curve, c) for c in p.coverages
            }
            # on a fixed grid, so every curve has 100 points whatever the number of images
            risk_coverage[f"{name}.{score}"] = {
                "coverage": COVERAGE_GRID,
                "accuracy": np.interp(COVERAGE_GRID, curve["coverage"], curve["accuracy"]),
            }

        for set_name in ood_sets():
            scores_out = metrics.uncertainty_scores(instance.output(set_name), predictor.scores)
            for score, values in scores_out.items():
                fpr, tpr = metrics.roc_points(scores_in[score], values)
                roc[set_name][f"{name}.{score}"] = {"fpr": fpr, "tpr": tpr}
            files["ood"][set_name]["n_in"], files["ood"][set_name]["n_out"] = len(labels), sizes[set_name]

        if has_set([instance], "rotated"):  # saved predictions may have no rotated images
            rotated = instance.output("rotated")["mean"]  # (A, n, K): the first n test images per angle
            rows = []
            for index, angle in enumerate(angles):
                values = shift_values(rotated[index], labels[: rotated.shape[1]], p.ece_bins)
                shift.setdefault(name, {})[str(angle)] = values
                rows.append(values)
            shift_curves[name] = {"angle": angles, **{q: [row[q] for row in rows] for q in rows[0]}}
        try:
            output = instance.output(corrupted.SET)  # (C * S, n, ...)
        except PipelineError:  # a dropout CNN not in infer.shift_mc_models, saved outputs without them
            output = None
        if output is not None:
            model = instance.models[0]  # its rows must be the conditions params.yaml names
            corrupted.check_layout(
                inference(model, corrupted.SET), params.corrupt, f"{paths.inference}/{model}/corrupted.npz"
            )
            table = corruption_table(output, test, labels, predictor.ood_score, params)
            corruption[name] = table
            by_severity = [table["clean"], *table["severity"].values()]
            corruption_curves[name] = {
                "severity": [0, *params.corrupt.severities], **{q: [r[q] for r in by_severity] for q in by_severity[0]}
            }  # fmt: skip
        evaluation = files["eval"][name]
        print(
            f"evaluate {name}: acc {evaluation['accuracy']:.4f} nll {evaluation['nll']:.4f} "
            f"ece {evaluation['ece']:.4f}; {first_ood()} AUROC (entropy) "
            f"{files['ood'][first_ood()][name]['entropy']['auroc']:.3f}"
        )

    write_json(paths.eval_metrics, files["eval"])
    write_json(paths.selective_metrics, files["selective"])
    write_json(paths.ood_metrics, files["ood"])
    write_json(paths.shift_table, shift)
    write_json(paths.corruption_table, corruption)
    write_curves(paths.corruption_curves, corruption_curves)
    write_curves(paths.reliability, reliability)
    write_curves(paths.risk_coverage, risk_coverage)
    write_curves(paths.shift_curves, shift_curves)
    for set_name in ood_sets():
        write_curves(paths.roc / set_name, roc[set_name])


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
                "eval-metrics": "the test-set metrics per predictor, JSON",
                "selective-metrics": "selective prediction per predictor and score, JSON",
                "ood-metrics": "the OOD metrics per OOD set, predictor and score, JSON",
                "shift-table": "the shift metrics and mean entropy per predictor and angle, JSON (a table)",
                "corruption-table": "the shift metrics and shift AUROC per predictor, corruption and severity, JSON",
                "corruption-curves": "their means over corruptions against severity, one CSV per predictor (DVC plots)",
                "reliability": "the reliability bins, one CSV per predictor (DVC plots)",
                "risk-coverage": "accuracy against coverage, one CSV per predictor and score (DVC plots)",
                "roc": "the ROC curves, <set>/<predictor>.<score>.csv (DVC plots)",
                "shift-curves": "the shift metrics against the angle, one CSV per predictor (DVC plots)",
            },
        ),
    )
