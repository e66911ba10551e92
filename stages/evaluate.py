"""Stage: every predictor's article instance (its first model) on the test set, the OOD sets and the rotations.

From the inference stage's outputs and the fitted temperatures, for each predictor of
the registry (params.yaml `predictors`):

* reports/metrics/eval.json: accuracy, NLL, Brier, ECE on the test set;
* reports/metrics/selective.json: per score, the area under the risk–coverage curve and
  the accuracy at each evaluate.coverages;
* reports/metrics/ood.json: per OOD set and score, AUROC, AUPR and FPR95 (positive = out);
* reports/metrics/shift.json: accuracy, NLL, ECE and mean entropy at each rotation angle;
* DVC plots, one CSV per predictor (and score) in a directory per curve: reliability,
  risk–coverage, ROC per OOD set, shift.

The intervals over seeds and images are the verdicts stage's; these are the single-training tables.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty import metrics
from uncertainty.curves import write_curves
from uncertainty.io import read_json, write_json
from uncertainty.names import format_number
from uncertainty.ood_inputs import OOD_SETS
from uncertainty.predictors import Inference, build
from uncertainty.schema.evaluate import Evaluate
from uncertainty.schema.predictors import Predictors
from uncertainty.schema.shift import Shift
from uncertainty.schema.verdicts import Verdicts

SECTIONS = {
    "evaluate": Evaluate,
    "shift": Shift,
    "predictors": Predictors,
    "verdicts": Verdicts,
}  # the params.yaml sections it reads


COVERAGE_GRID = np.linspace(0.01, 1.0, 100)


def quality(mean: np.ndarray, labels: np.ndarray, n_bins: int) -> dict[str, float]:
    return {
        "accuracy": metrics.accuracy(mean, labels),
        "nll": metrics.nll(mean, labels),
        "brier": metrics.brier(mean, labels),
        "ece": metrics.ece(mean, labels, n_bins),
    }


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.evaluate
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    predictors = build(params, inference, read_json(paths.temperature), posthoc)
    evaluation, selective, shift = {}, {}, {}
    ood: dict[str, dict[str, Any]] = {set_name: {} for set_name in OOD_SETS}
    reliability, risk_coverage, shift_curves = {}, {}, {}
    roc: dict[str, dict[str, Any]] = {set_name: {} for set_name in OOD_SETS}
    angles = params.shift.angles

    for name, predictor in predictors.items():
        instance = predictor.first
        test = instance.output("test")
        labels = inference.labels(instance.models[0])
        evaluation[name] = quality(test["mean"], labels, p.ece_bins)

        bins = metrics.reliability_bins(test["mean"], labels, p.ece_bins)
        edges = bins.pop("edges")
        reliability[name] = {"confidence_bin": (edges[:-1] + edges[1:]) / 2, **bins}

        correct = metrics.correct_terms(test["mean"], labels)
        scores_in = metrics.uncertainty_scores(test, predictor.scores)
        for score, values in scores_in.items():
            curve = metrics.risk_coverage(values, correct)
            selective.setdefault(name, {})[score] = {
                "aurc": curve["aurc"],
                "accuracy_at": {
                    format_number(c): metrics.accuracy_at_coverage(curve, c) for c in p.coverages
                },
            }
            # on a fixed grid, so every curve has 100 points whatever the number of images
            risk_coverage[f"{name}.{score}"] = {
                "coverage": COVERAGE_GRID,
                "accuracy": np.interp(COVERAGE_GRID, curve["coverage"], curve["accuracy"]),
            }

        for set_name in OOD_SETS:
            scores_out = metrics.uncertainty_scores(instance.output(set_name), predictor.scores)
            for score, values in scores_out.items():
                ood[set_name].setdefault(name, {})[score] = metrics.ood_metrics(scores_in[score], values)
                fpr, tpr = metrics.roc_points(scores_in[score], values)
                roc[set_name][f"{name}.{score}"] = {"fpr": fpr, "tpr": tpr}
            ood[set_name]["n_in"], ood[set_name]["n_out"] = len(labels), len(values)

        rotated = instance.output("rotated")["mean"]  # (A, n, K): the first n test images per angle
        rows = []
        for index, angle in enumerate(angles):
            values = quality(rotated[index], labels[: rotated.shape[1]], p.ece_bins)
            del values["brier"]
            values["entropy"] = float(metrics.entropy(rotated[index]).mean())
            shift.setdefault(name, {})[str(angle)] = values
            rows.append(values)
        shift_curves[name] = {"angle": angles, **{q: [row[q] for row in rows] for q in rows[0]}}
        print(
            f"evaluate {name}: acc {evaluation[name]['accuracy']:.4f} nll {evaluation[name]['nll']:.4f} "
            f"ece {evaluation[name]['ece']:.4f}; MNIST AUROC (entropy) {ood['mnist'][name]['entropy']['auroc']:.3f}"
        )

    write_json(paths.eval_metrics, evaluation)
    write_json(paths.selective_metrics, selective)
    write_json(paths.ood_metrics, ood)
    write_json(paths.shift_metrics, shift)
    write_curves(paths.reliability, reliability)
    write_curves(paths.risk_coverage, risk_coverage)
    write_curves(paths.shift_curves, shift_curves)
    for set_name in OOD_SETS:
        write_curves(paths.roc / set_name, roc[set_name])


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "inference": "every model's outputs, <model>/<set>.npz (infer stage)",
                "posthoc": "the post-hoc predictors' outputs, <predictor>/<model>/<set>.npz (posthoc stage)",
                "temperature": "the fitted temperatures (temperature stage)",
                "eval-metrics": "accuracy, NLL, Brier, ECE per predictor, JSON",
                "selective-metrics": "selective prediction per predictor and score, JSON",
                "ood-metrics": "AUROC, AUPR, FPR95 per OOD set, predictor and score, JSON",
                "shift-metrics": "accuracy, NLL, ECE, entropy per predictor and angle, JSON",
                "reliability": "the reliability bins, one CSV per predictor (DVC plots)",
                "risk-coverage": "accuracy against coverage, one CSV per predictor and score (DVC plots)",
                "roc": "the ROC curves, <set>/<predictor>.<score>.csv (DVC plots)",
                "shift-curves": "the shift metrics against the angle, one CSV per predictor (DVC plots)",
            },
        ),
    )
