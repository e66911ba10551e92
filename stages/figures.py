"""Stage: every figure of the article's experiments and of the whole-test-set evaluation.

Drawn only from what the compute stages wrote (CSV, JSON, npz), so that editing a
figure re-runs this stage and the report, never a model or an MC sampler. The
numbers a figure prints (ECE, AUROC) come from the metrics files, not recomputed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stages.common import run
from uncertainty.fashion_mnist import CLASS_NAMES
from uncertainty.io import load_npz, read_json
from uncertainty.metrics import ALL_PREDICTORS, PREDICTORS
from uncertainty.plots import (
    plot_extrapolation,
    plot_interval,
    plot_linear_data,
    plot_noise_prediction,
    plot_regressors,
    plot_reliability,
    plot_risk_coverage,
    plot_roc,
    plot_shift,
    plot_softmax_grid,
)

FIGURES = "reports/figures"
OOD_SETS = ("mnist", "uniform_noise", "gaussian_noise")


def columns(path: str) -> dict[str, np.ndarray]:
    frame = pd.read_csv(path)
    return {name: frame[name].to_numpy() for name in frame}


def regression_figures() -> None:
    data = columns("data/linear.csv")
    x, y = data["x"][:, None], data["y"][:, None]
    curve = columns("reports/plots/regression_extrapolation.csv")
    grid = curve.pop("x")
    models = {name: values for name, values in curve.items() if name not in ("mean", "std")}
    inside = (grid >= x.min()) & (grid <= x.max())
    plot_linear_data(x, y, f"{FIGURES}/linear_data.png")
    plot_regressors(
        x, y, grid[inside], {n: c[inside] for n, c in models.items()}, f"{FIGURES}/regression_models.png"
    )
    plot_extrapolation(x, y, grid, models, f"{FIGURES}/regression_extrapolation.png")


def noise_figures(params: dict[str, Any]) -> None:
    noise = load_npz("data/noise.npz", keys=("image", "plain", "dropout_mean"))
    plot_noise_prediction(
        noise["image"], noise["plain"], CLASS_NAMES, f"{FIGURES}/noise_plain.png", "Plain CNN on noise"
    )
    plot_noise_prediction(
        noise["image"],
        noise["dropout_mean"],
        CLASS_NAMES,
        f"{FIGURES}/noise_dropout_mean.png",
        f"Dropout CNN, mean of {params['noise']['mean_passes']} passes",
    )


def batch_figures(params: dict[str, Any]) -> None:
    p = params["mc_batch"]
    batch = load_npz("data/mc_batch.npz", keys=("passes", "plain", "labels"))
    passes, plain, labels = batch["passes"], batch["plain"], batch["labels"]  # (T, B, 10), (B, 10), (B,)
    median = np.median(passes, axis=0)  # the article's final prediction
    low, high = np.percentile(passes, p["percentiles"], axis=0)
    grid = f"{FIGURES}/softmax_{{}}_grid.png"
    plot_softmax_grid(plain, labels, CLASS_NAMES, grid.format("plain"), "Plain CNN")
    plot_softmax_grid(
        median, labels, CLASS_NAMES, grid.format("mc_median"), f"Median of {len(passes)} passes"
    )
    band = f"{p['percentiles'][0]:g}-{p['percentiles'][1]:g}th percentile"
    for position in p["positions"]:
        plot_interval(
            plain[position],
            median[position],
            low[position],
            high[position],
            CLASS_NAMES,
            f"{FIGURES}/intervals/position_{position:03d}.png",
            f"Batch position {position}: actual {labels[position]} ({CLASS_NAMES[labels[position]]}), {band}",
        )


def evaluation_figures() -> None:
    evaluation = read_json("reports/metrics/eval.json")
    reliability = columns("reports/plots/reliability.csv")
    centres = reliability["confidence_bin"]
    half = (centres[1] - centres[0]) / 2 if len(centres) > 1 else 0.5
    edges = np.r_[centres - half, centres[-1] + half]
    bins = {
        name: {
            "edges": edges,
            "count": reliability[f"{name}_count"],
            "accuracy": reliability[f"{name}_accuracy"],
            "confidence": reliability[f"{name}_confidence"],
        }
        for name in ALL_PREDICTORS
        if f"{name}_count" in reliability
    }
    eces = {name: evaluation[name]["ece"] for name in bins}
    plot_reliability(bins, f"{FIGURES}/reliability.png", eces)

    risk = columns("reports/plots/risk_coverage.csv")
    coverage = risk.pop("coverage")
    plot_risk_coverage(
        {
            label: (coverage, accuracy)
            for label, accuracy in risk.items()
            if label.split(".")[0] in PREDICTORS
        },
        f"{FIGURES}/risk_coverage.png",
    )

    ood = read_json("reports/metrics/ood.json")
    curves, aurocs = {}, {}
    for set_name in OOD_SETS:
        roc = columns(f"reports/plots/roc_{set_name}.csv")
        fpr = roc.pop("fpr")
        shown = {label: tpr for label, tpr in roc.items() if label.split(".")[0] in PREDICTORS}
        curves[set_name] = {label: (fpr, tpr) for label, tpr in shown.items()}
        aurocs[set_name] = {
            label: ood[set_name][label.split(".")[0]][label.split(".")[1]]["auroc"] for label in shown
        }
    plot_roc(curves, f"{FIGURES}/ood_roc.png", aurocs)

    shift = columns("reports/plots/shift.csv")
    angles = shift.pop("angle")
    by_quantity: dict[str, dict[str, np.ndarray]] = {}
    for label, values in shift.items():
        predictor, quantity = label.split(".")
        by_quantity.setdefault(quantity, {})[predictor] = values
    plot_shift(angles, by_quantity, f"{FIGURES}/shift.png")


def main(params: dict[str, Any]) -> None:
    regression_figures()
    noise_figures(params)
    batch_figures(params)
    evaluation_figures()
    print(f"figures: {FIGURES}/")


if __name__ == "__main__":
    run(main)
