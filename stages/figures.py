"""Stage: every figure of the article's experiments and of the whole-test-set evaluation.

Drawn only from what the compute stages wrote (CSV, JSON, npz), so that editing a
figure re-runs this stage and the report, never a model or an MC sampler. The
numbers a figure prints (ECE, AUROC) come from the metrics files, not recomputed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.cli import parse_paths
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


def columns(path: str | Path) -> dict[str, np.ndarray]:
    frame = pd.read_csv(path)
    return {name: frame[name].to_numpy() for name in frame}


def regression_figures(paths: argparse.Namespace) -> None:
    figures = paths.figures_dir
    data = columns(paths.linear_data)
    x, y = data["x"][:, None], data["y"][:, None]
    curve = columns(paths.regression_curve)
    grid = curve.pop("x")
    models = {name: values for name, values in curve.items() if name not in ("mean", "std")}
    inside = (grid >= x.min()) & (grid <= x.max())
    plot_linear_data(x, y, figures / "linear_data.png")
    plot_regressors(
        x, y, grid[inside], {n: c[inside] for n, c in models.items()}, figures / "regression_models.png"
    )
    plot_extrapolation(x, y, grid, models, figures / "regression_extrapolation.png")


def noise_figures(params: dict[str, Any], paths: argparse.Namespace) -> None:
    noise = load_npz(paths.noise, keys=("image", "plain", "dropout_mean"))
    plot_noise_prediction(
        noise["image"],
        noise["plain"],
        CLASS_NAMES,
        paths.figures_dir / "noise_plain.png",
        "Plain CNN on noise",
    )
    plot_noise_prediction(
        noise["image"],
        noise["dropout_mean"],
        CLASS_NAMES,
        paths.figures_dir / "noise_dropout_mean.png",
        f"Dropout CNN, mean of {params['noise']['mean_passes']} passes",
    )


def batch_figures(params: dict[str, Any], paths: argparse.Namespace) -> None:
    p, figures = params["mc_batch"], paths.figures_dir
    batch = load_npz(paths.mc_batch, keys=("passes", "plain", "labels"))
    passes, plain, labels = batch["passes"], batch["plain"], batch["labels"]  # (T, B, 10), (B, 10), (B,)
    median = np.median(passes, axis=0)  # the article's final prediction
    low, high = np.percentile(passes, p["percentiles"], axis=0)
    plot_softmax_grid(plain, labels, CLASS_NAMES, figures / "softmax_plain_grid.png", "Plain CNN")
    plot_softmax_grid(
        median, labels, CLASS_NAMES, figures / "softmax_mc_median_grid.png", f"Median of {len(passes)} passes"
    )
    band = f"{p['percentiles'][0]:g}-{p['percentiles'][1]:g}th percentile"
    for position in p["positions"]:
        plot_interval(
            plain[position],
            median[position],
            low[position],
            high[position],
            CLASS_NAMES,
            figures / "intervals" / f"position_{position:03d}.png",
            f"Batch position {position}: actual {labels[position]} ({CLASS_NAMES[labels[position]]}), {band}",
        )


def evaluation_figures(paths: argparse.Namespace) -> None:
    figures = paths.figures_dir
    evaluation = read_json(paths.eval_metrics)
    reliability = columns(paths.reliability)
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
    plot_reliability(bins, figures / "reliability.png", eces)

    risk = columns(paths.risk_coverage)
    coverage = risk.pop("coverage")
    plot_risk_coverage(
        {
            label: (coverage, accuracy)
            for label, accuracy in risk.items()
            if label.split(".")[0] in PREDICTORS
        },
        figures / "risk_coverage.png",
    )

    ood = read_json(paths.ood_metrics)
    rocs = {  # the OOD sets, in the legend's order
        "mnist": paths.roc_mnist,
        "uniform_noise": paths.roc_uniform_noise,
        "gaussian_noise": paths.roc_gaussian_noise,
    }
    curves, aurocs = {}, {}
    for set_name, roc_path in rocs.items():
        roc = columns(roc_path)
        fpr = roc.pop("fpr")
        shown = {label: tpr for label, tpr in roc.items() if label.split(".")[0] in PREDICTORS}
        curves[set_name] = {label: (fpr, tpr) for label, tpr in shown.items()}
        aurocs[set_name] = {
            label: ood[set_name][label.split(".")[0]][label.split(".")[1]]["auroc"] for label in shown
        }
    plot_roc(curves, figures / "ood_roc.png", aurocs)

    shift = columns(paths.shift_curve)
    angles = shift.pop("angle")
    by_quantity: dict[str, dict[str, np.ndarray]] = {}
    for label, values in shift.items():
        predictor, quantity = label.split(".")
        by_quantity.setdefault(quantity, {})[predictor] = values
    plot_shift(angles, by_quantity, figures / "shift.png")


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    regression_figures(paths)
    noise_figures(params, paths)
    batch_figures(params, paths)
    evaluation_figures(paths)
    print(f"figures: {paths.figures_dir}/")


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "linear-data": "the linear data (linear_data stage)",
                "regression-curve": "the regressors' extrapolation (regression stage)",
                "noise": "the noise image and its predictions (noise stage)",
                "mc-batch": "the MC batch (mc_batch stage)",
                "eval-metrics": "in-distribution metrics, for the ECE in the legend (evaluate stage)",
                "reliability": "the reliability bins (evaluate stage)",
                "risk-coverage": "accuracy against coverage (evaluate stage)",
                "ood-metrics": "OOD metrics, for the AUROC in the legend (ood stage)",
                "roc-mnist": "ROC curves against MNIST digits (ood stage)",
                "roc-uniform-noise": "ROC curves against uniform noise (ood stage)",
                "roc-gaussian-noise": "ROC curves against Gaussian noise (ood stage)",
                "shift-curve": "quality against rotation angle (shift stage)",
                "figures-dir": "where the figures go, under their fixed names (the report links them)",
            },
        ),
    )
