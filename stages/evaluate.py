"""Stage: in-distribution quality (accuracy, NLL, Brier, ECE) and selective prediction.

Reads the test-set predictions of the three predictors; writes
reports/metrics/eval.json and selective.json, the reliability and
risk–coverage curves as DVC plots, and their figures.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty import metrics
from uncertainty.evaluation import (
    fitted_temperatures,
    quality,
    resample,
    scores,
    temperature_scaled,
    test_split,
    wide_csv,
)
from uncertainty.io import load_npz, write_json, write_text
from uncertainty.metrics import ALL_PREDICTORS, PREDICTORS


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    p = params["evaluate"]
    arrays = load_npz(paths.predictions, keys=(*PREDICTORS, "labels"))
    labels = arrays["labels"]
    # The temperature-scaled predictors, cross-fitted on the test set's halves as in the verdicts stage.
    split = test_split(len(labels), len(labels), params["verdicts"]["seed"])
    arrays.update(temperature_scaled(arrays, fitted_temperatures(arrays, labels, split), split))

    evaluation = {name: quality(arrays[name], labels, p["ece_bins"]) for name in ALL_PREDICTORS}
    write_json(paths.eval_metrics, evaluation)

    bins = {
        name: metrics.reliability_bins(arrays[name].mean(0), labels, p["ece_bins"]) for name in ALL_PREDICTORS
    }
    edges = bins["plain"]["edges"]
    reliability = {"confidence_bin": (edges[:-1] + edges[1:]) / 2}
    for name in ALL_PREDICTORS:
        reliability[f"{name}_accuracy"] = bins[name]["accuracy"]
        reliability[f"{name}_count"] = bins[name]["count"]
        reliability[f"{name}_confidence"] = bins[name]["confidence"]
    write_text(paths.reliability, wide_csv(reliability))

    selective: dict[str, Any] = {}
    grid = np.linspace(0.01, 1.0, 100)
    curves_csv: dict[str, np.ndarray] = {"coverage": grid}
    for name in ALL_PREDICTORS:
        stack = arrays[name]
        correct = stack.mean(0).argmax(1) == labels
        for score_name, score in scores(name, stack).items():
            curve = metrics.risk_coverage(score, correct)
            label = f"{name}.{score_name}"
            selective.setdefault(name, {})[score_name] = {
                "aurc": curve["aurc"],
                **{
                    f"accuracy_at_{round(100 * c)}": metrics.accuracy_at_coverage(curve, c)
                    for c in p["coverages"]
                },
            }
            curves_csv[label] = resample(curve["coverage"], curve["accuracy"], grid)
    write_json(paths.selective_metrics, selective)
    write_text(paths.risk_coverage, wide_csv(curves_csv))
    print(
        "evaluate: "
        + "; ".join(
            f"{name} acc {m['accuracy']:.4f} nll {m['nll']:.4f} ece {m['ece']:.4f}"
            for name, m in evaluation.items()
        )
    )


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "predictions": "the test-set predictions (predict stage)",
                "eval-metrics": "accuracy, NLL, Brier, ECE per predictor, JSON",
                "selective-metrics": "selective prediction per predictor and score, JSON",
                "reliability": "the reliability bins, CSV (DVC plots)",
                "risk-coverage": "accuracy against coverage, CSV (DVC plots)",
            },
        ),
    )
