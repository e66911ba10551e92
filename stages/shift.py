"""Stage: dataset shift. Accuracy, NLL, ECE and mean entropy per predictor per rotation angle."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty import metrics
from uncertainty.evaluation import fitted_temperatures, quality, temperature_scaled, test_split, wide_csv
from uncertainty.fashion_mnist import to_model_input
from uncertainty.io import load_npz, write_json, write_text
from uncertainty.metrics import ALL_PREDICTORS, PREDICTORS
from uncertainty.ood_inputs import rotate_images
from uncertainty.predictors import load_predictors, predict_all

QUANTITIES = ("accuracy", "nll", "ece", "entropy")


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    p = params["shift"]
    data = load_npz(paths.data, keys=("x_test", "y_test"))
    limit = p["test_limit"] or len(data["x_test"])
    images, labels = to_model_input(data["x_test"][:limit]), data["y_test"][:limit].astype(np.int64)
    plain, sampler, members = load_predictors(params, paths.models)
    passes, bins = params["predict"]["mc_passes"], params["evaluate"]["ece_bins"]
    test = load_npz(paths.predictions, keys=(*PREDICTORS, "labels"))  # for the temperatures
    n_test = len(test["labels"])
    temperatures = fitted_temperatures(
        test, test["labels"], test_split(n_test, n_test, params["verdicts"]["seed"])
    )
    # Rotated test images keep their index: each is scaled with the T fitted on the other half.
    split = test_split(limit, n_test, params["verdicts"]["seed"])

    results: dict[str, dict[str, Any]] = {name: {} for name in ALL_PREDICTORS}
    series = {name: {q: [] for q in QUANTITIES} for name in ALL_PREDICTORS}
    for angle in p["angles"]:
        stacks = predict_all(rotate_images(images, angle), plain, sampler, passes, members)
        stacks.update(temperature_scaled(stacks, temperatures, split))
        for name in ALL_PREDICTORS:
            values = quality(stacks[name], labels, bins)
            values["entropy"] = float(metrics.entropy(stacks[name].mean(0)).mean())
            results[name][f"angle_{angle}"] = {q: values[q] for q in QUANTITIES}
            for q in QUANTITIES:
                series[name][q].append(values[q])
        print(
            f"shift {angle:>3}°: "
            + ", ".join(
                f"{n} acc {results[n][f'angle_{angle}']['accuracy']:.3f}" for n in ALL_PREDICTORS[:3]
            ),
            flush=True,
        )
    write_json(paths.metrics, results)
    columns: dict[str, np.ndarray] = {"angle": np.array(p["angles"], float)}
    for name in ALL_PREDICTORS:
        for q in QUANTITIES:
            columns[f"{name}.{q}"] = np.array(series[name][q])
    write_text(paths.curve, wide_csv(columns))


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "data": "Fashion-MNIST arrays (prepare_data stage)",
                "predictions": "the test-set predictions, for the temperatures (predict stage)",
                "models": "the directory of trained CNNs, <name>.npz (train stage)",
                "metrics": "accuracy, NLL, ECE, entropy per predictor and angle, JSON",
                "curve": "the same against the angle, CSV (DVC plots)",
            },
        ),
    )
