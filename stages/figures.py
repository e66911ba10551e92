"""Stage: the regressors' figures and every figure of the whole-test-set evaluation.

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
from uncertainty.core.io import read_json
from uncertainty.core.names import format_number
from uncertainty.core.schema.conformal import Conformal
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.shift import Shift
from uncertainty.core.vocabulary import ood_sets, score_label, set_label, use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.evaluation import metric_registry as registry
from uncertainty.methods import conformal
from uncertainty.methods.predictors import KINDS, ood_score, repeats
from uncertainty.report.plots.common import plot_note
from uncertainty.report.plots.evaluation import plot_reliability, plot_risk_coverage, plot_roc, plot_shift
from uncertainty.report.plots.regression import plot_extrapolation, plot_linear_data, plot_regressors

SECTIONS = {
    "conformal": Conformal,
    "predictors": Predictors,
    "shift": Shift,
}  # the params.yaml sections it reads


CONFORMAL_ALPHA = 0.05  # the level of the conformal shift figure (the report's headline level)
ROC_SCORES = ("mutual_information",)  # drawn beside each predictor's own OOD score


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


def evaluation_figures(params: Any, paths: argparse.Namespace) -> None:
    """Reliability (every predictor), risk–coverage, ROC and shift (the unscaled ones), from the evaluate stage."""
    figures = paths.figures_dir
    evaluation, ood = read_json(paths.eval_metrics), read_json(paths.ood_metrics)
    # A predictor that only adds a score (energy, feature density) has an earlier one's probabilities:
    # its reliability, risk-coverage (by 1 − max p) and shift curves would be drawn twice.
    twins = repeats(params.predictors, lambda a, b: evaluation[a] == evaluation[b])
    every = {name: spec for name, spec in params.predictors.items() if name not in twins}
    unscaled = {name: spec for name, spec in every.items() if spec.of is None}
    scorers = {name: spec for name, spec in params.predictors.items() if spec.of is None}
    labels = {
        name: spec.label for name, spec in params.predictors.items()
    }  # legends and titles: the declarations
    bins, eces = {}, {}
    for name in every:
        table = columns(paths.reliability / f"{name}.csv")
        centres = table.pop("confidence_bin")
        half = (centres[1] - centres[0]) / 2 if len(centres) > 1 else 0.5
        bins[labels[name]] = {"edges": np.r_[centres - half, centres[-1] + half], **table}
        eces[labels[name]] = evaluation[name]["ece"]
    plot_reliability(bins, figures / "reliability.png", eces)

    shown_scores = {  # each predictor's own OOD score, and the mutual information where it has one
        name: list(dict.fromkeys(s for s in (ood_score(spec), *ROC_SCORES) if s in KINDS[spec.kind].scores))
        for name, spec in scorers.items()
    }
    risk = {}
    for name, spec in unscaled.items():
        for score in KINDS[spec.kind].scores:
            if score in ("one_minus_max_prob", "mutual_information"):
                table = columns(paths.risk_coverage / f"{name}.{score}.csv")
                risk[f"{labels[name]}, {score_label(score)}"] = (table["coverage"], table["accuracy"])
    plot_risk_coverage(risk, figures / "risk_coverage.png")

    curves, aurocs = {}, {}
    for set_name in ood_sets():
        for name, scores in shown_scores.items():
            for score in scores:
                table = columns(paths.roc / set_name / f"{name}.{score}.csv")
                line = f"{labels[name]}, {score_label(score)}"
                curves.setdefault(set_label(set_name), {})[line] = (table["fpr"], table["tpr"])
                aurocs.setdefault(set_label(set_name), {})[line] = ood[set_name][name][score]["auroc"]
    plot_roc(curves, figures / "ood_roc.png", aurocs)

    by_quantity: dict[str, dict[str, np.ndarray]] = {}
    angles = np.asarray(params.shift.angles)
    for name in unscaled:
        path = paths.shift_curves / f"{name}.csv"
        if not path.is_file():
            continue  # no outputs on rotated images (saved predictions without them, or without their MC passes)
        table = columns(path)
        angles = table.pop("angle")
        for quantity, values in table.items():
            title = registry.BY_NAME[quantity].label if quantity in registry.BY_NAME else f"mean {quantity}"
            by_quantity.setdefault(title, {})[labels[name]] = values
    if by_quantity:
        plot_shift(angles, by_quantity, figures / "shift.png")
    else:
        plot_note("No outputs on rotated images: nothing measured under rotation.", figures / "shift.png")


def conformal_figures(params: Any, paths: argparse.Namespace) -> None:
    """Coverage above the promise (first score) and mean set size (a panel per score) against alpha, and at
    CONFORMAL_ALPHA coverage and size against the rotation angle (first score); a line per predictor."""
    found = read_json(paths.conformal_table)
    labels = {name: spec.label for name, spec in params.predictors.items()}
    shown = [name for name in params.predictors if name in found]
    alphas = params.conformal.alphas
    scores = [
        name for name, _, _ in conformal.variants(params.conformal.scores, params.conformal.mondrian_score)
    ]
    deviation = f"coverage − (1 − alpha), {scores[0]}"
    sizes = {
        deviation: {
            labels[name]: np.array(
                [found[name][scores[0]][format_number(a)]["coverage"]["mean"] - (1 - a) for a in alphas]
            )
            for name in shown
        }
    }
    sizes |= {
        f"mean set size, {score}": {
            labels[name]: np.array(
                [found[name][score][format_number(a)]["mean_size"]["mean"] for a in alphas]
            )
            for name in shown
        }
        for score in scores
    }
    plot_shift(
        np.asarray(alphas),
        sizes,
        paths.figures_dir / "conformal_alpha.png",
        xlabel="alpha (1 − promised coverage)",
        targets={deviation: 0.0},
    )
    alpha = CONFORMAL_ALPHA if CONFORMAL_ALPHA in alphas else alphas[0]
    key, angles = format_number(alpha), params.shift.angles
    rotated = {
        name: found[name][scores[0]][key]["rotated"]
        for name in shown
        if found[name][scores[0]][key]["rotated"]
    }
    quantities = {
        f"{quantity}, {scores[0]}, alpha {key}": {
            labels[name]: np.array([rows[str(angle)][field] for angle in angles])
            for name, rows in rotated.items()
        }
        for quantity, field in (("coverage", "coverage"), ("mean set size", "mean_size"))
    }
    plot_shift(
        np.asarray(angles), quantities, paths.figures_dir / "conformal_shift.png",
        targets={f"coverage, {scores[0]}, alpha {key}": 1 - alpha},
    )  # fmt: skip


def main(params: Any, paths: argparse.Namespace) -> None:
    info = read_info(paths.info)
    use_data_sets(info.ood, info.noise)  # the data's own OOD sets join the vocabulary
    regression_figures(paths)
    evaluation_figures(params, paths)
    conformal_figures(params, paths)
    print(f"figures: {paths.figures_dir}/")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
                "linear-data": "the linear data (linear_data stage)",
                "regression-curve": "the regressors' extrapolation (regression stage)",
                "eval-metrics": "in-distribution metrics, for the ECE in the legend (evaluate stage)",
                "conformal-table": "coverage and set sizes per predictor, score and alpha (conformal stage)",
                "reliability": "the reliability bins, <predictor>.csv (evaluate stage)",
                "risk-coverage": "accuracy against coverage, <predictor>.<score>.csv (evaluate stage)",
                "ood-metrics": "OOD metrics, for the AUROC in the legend (evaluate stage)",
                "roc": "ROC curves, <set>/<predictor>.<score>.csv (evaluate stage)",
                "shift-curves": "quality against rotation angle, <predictor>.csv (evaluate stage)",
                "figures-dir": "where the figures go, under their fixed names (the report links them)",
            },
        ),
    )
