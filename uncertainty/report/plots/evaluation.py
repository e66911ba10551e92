"""Calibration, OOD and shift: reliability diagrams, ROC and risk-coverage curves, quality against rotation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from uncertainty.report.plots.common import (
    DATA_COLOR,
    DIAGONAL_STYLE,
    GAP_COLOR,
    as_vector,
    panel_figure,
    require_non_empty,
    save,
)


def plot_reliability(bins: dict[str, dict], path: str | Path, eces: Mapping[str, float]) -> None:
    """Reliability diagrams, one panel per predictor: accuracy per confidence bin, the diagonal, the gap.

    Each value of `bins` holds arrays `edges` (n_bins + 1), `count`, `accuracy`
    and `confidence` (n_bins each); empty bins are not drawn. eces[name] is the ECE printed
    in the title, from eval.json: a figure draws numbers, it computes none.
    """
    require_non_empty(bins, "bins")
    checked = {}
    for name, table in bins.items():
        missing = [key for key in ("edges", "count", "accuracy", "confidence") if key not in table]
        if missing:
            raise ValueError(f"bins[{name!r}]: missing arrays {missing}")
        edges = as_vector(table["edges"], f"bins[{name!r}]['edges']")
        if len(edges) < 2:
            raise ValueError(f"bins[{name!r}]['edges']: expected at least 2 edges, got {len(edges)}")
        n_bins = len(edges) - 1
        checked[name] = (
            edges,
            as_vector(table["count"], f"bins[{name!r}]['count']", n_bins),
            as_vector(table["accuracy"], f"bins[{name!r}]['accuracy']", n_bins),
            as_vector(table["confidence"], f"bins[{name!r}]['confidence']", n_bins),
        )

    fig, axes = panel_figure(len(checked), sharey=True)
    for ax, (name, (edges, count, accuracy, confidence)) in zip(axes, checked.items(), strict=True):
        filled = count > 0
        left = edges[:-1][filled]
        width = np.diff(edges)[filled]
        acc, conf = accuracy[filled], confidence[filled]
        ax.bar(left, acc, width=width, align="edge", color=DATA_COLOR, edgecolor="black", label="accuracy")
        ax.bar(
            left,
            conf - acc,
            bottom=acc,
            width=width,
            align="edge",
            color=GAP_COLOR,
            alpha=0.3,
            hatch="//",
            edgecolor=GAP_COLOR,
            label="gap",
        )
        ax.plot([0, 1], [0, 1], **DIAGONAL_STYLE, label="perfect calibration")
        ax.set_title(f"{name} (ECE {float(eces[name]):.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_aspect("equal")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left", fontsize=8)
    save(fig, path)


def plot_roc(
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    path: str | Path,
    aurocs: Mapping[str, Mapping[str, float]],
) -> None:
    """ROC curves, one panel per OOD set and one line per predictor/score, from (fpr, tpr) pairs.

    aurocs[ood_set][label]: the AUROC printed in the legend, from ood.json (computed on every
    point, not on the drawn, thinned curve).
    """
    require_non_empty(curves, "curves")
    checked: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for ood_set, lines in curves.items():
        require_non_empty(lines, f"curves[{ood_set!r}]")
        checked[ood_set] = {}
        for label, (fpr, tpr) in lines.items():
            fpr = as_vector(fpr, f"curves[{ood_set!r}][{label!r}] fpr")
            checked[ood_set][label] = (fpr, as_vector(tpr, f"curves[{ood_set!r}][{label!r}] tpr", len(fpr)))

    fig, axes = panel_figure(len(checked), sharey=True)
    for ax, (ood_set, lines) in zip(axes, checked.items(), strict=True):
        for label, (fpr, tpr) in lines.items():
            ax.plot(fpr, tpr, linewidth=1.5, label=f"{label} (AUC {float(aurocs[ood_set][label]):.3f})")
        ax.plot([0, 1], [0, 1], **DIAGONAL_STYLE)
        ax.set_title(ood_set)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("false positive rate")
        ax.set_aspect("equal")
        ax.legend(loc="lower right", fontsize=7)
    axes[0].set_ylabel("true positive rate")
    save(fig, path)


def plot_risk_coverage(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> None:
    """Accuracy on the retained samples against coverage, one line per label (coverage, accuracy)."""
    require_non_empty(curves, "curves")
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for label, (coverage, accuracy) in curves.items():
        coverage = as_vector(coverage, f"curves[{label!r}] coverage")
        accuracy = as_vector(accuracy, f"curves[{label!r}] accuracy", len(coverage))
        ax.plot(coverage, accuracy, linewidth=1.5, label=label)
    ax.set_xlim(0, 1)
    ax.set_xlabel("coverage")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy against coverage")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    save(fig, path)


def plot_shift(
    angles: np.ndarray,
    values: dict[str, dict[str, np.ndarray]],
    path: str | Path,
    xlabel: str = "rotation angle (degrees)",
    targets: Mapping[str, float] | None = None,
    bands: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]] | None = None,
) -> None:
    """One panel per quantity (accuracy, nll, ...), one line per predictor over the rotation angle (or
    another x, `xlabel`); `targets`: a dashed horizontal line in a quantity's panel (a promised coverage);
    `bands`: quantity -> predictor -> (low, high), an interval shaded around its line."""
    angles = as_vector(angles, "angles")
    require_non_empty(values, "values")
    checked: dict[str, dict[str, np.ndarray]] = {}
    for quantity, lines in values.items():
        require_non_empty(lines, f"values[{quantity!r}]")
        checked[quantity] = {
            predictor: as_vector(line, f"values[{quantity!r}][{predictor!r}]", len(angles))
            for predictor, line in lines.items()
        }

    fig, axes = panel_figure(len(checked))
    for ax, (quantity, lines) in zip(axes, checked.items(), strict=True):
        for predictor, line in lines.items():
            (drawn,) = ax.plot(angles, line, marker="o", markersize=3, linewidth=1.5, label=predictor)
            band = (bands or {}).get(quantity, {}).get(predictor)
            if band is not None:
                low = as_vector(band[0], f"bands[{quantity!r}][{predictor!r}] low", len(angles))
                high = as_vector(band[1], f"bands[{quantity!r}][{predictor!r}] high", len(angles))
                ax.fill_between(angles, low, high, color=drawn.get_color(), alpha=0.15, linewidth=0)
        if targets and quantity in targets:
            ax.axhline(targets[quantity], **DIAGONAL_STYLE)
        ax.set_title(quantity)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save(fig, path)
