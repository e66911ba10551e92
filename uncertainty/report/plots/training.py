"""Training and cost: a CNN's history per epoch, and quality against MC passes and ensemble size."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from uncertainty.report.plots.common import (
    as_vector,
    panel_figure,
    save,
)


def plot_quality_against_cost(
    passes: Mapping[str, np.ndarray],
    members: Mapping[str, np.ndarray],
    path: str | Path,
    quantities: Mapping[str, str],
) -> None:
    """Each quantity (column -> its words, a panel each) against MC passes T (mean ± std over dropout
    seeds) and ensemble size M.

    `passes`: columns "passes", "<quantity>" and "<quantity>_std"; `members`: "members", "<quantity>";
    either may be empty (the run has no such predictor).
    """
    fig, axes = panel_figure(len(quantities), height=3.5)
    for ax, (key, label) in zip(axes, quantities.items(), strict=True):
        if "passes" in passes:  # a run without MC dropout (or without an ensemble) draws the other alone
            t = as_vector(passes["passes"], "passes['passes']")
            ax.errorbar(
                t,
                passes[key],
                yerr=passes[f"{key}_std"],
                marker="o",
                markersize=3,
                capsize=3,
                label="MC dropout, T passes",
            )
        if "members" in members:
            m = as_vector(members["members"], "members['members']")
            ax.plot(m, members[key], marker="s", markersize=4, label="ensemble, M members")
        ax.set_xscale("log")
        ax.set_xlabel("T passes or M members (log scale)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    if passes or members:
        axes[0].legend(fontsize=8)
    fig.suptitle("Quality against inference cost (forward passes per image)")
    save(fig, path)


def plot_history(history: dict[str, list[float]], path: str | Path, title: str) -> None:
    """Loss and accuracy (train and validation) per epoch, two panels; absent keys are skipped."""
    panels = {"loss": ("loss", "val_loss"), "accuracy": ("accuracy", "val_accuracy")}
    present = [key for keys in panels.values() for key in keys if key in history]
    if not present:
        raise ValueError(
            f"history: expected some of {[k for keys in panels.values() for k in keys]}, got none"
        )
    n_epochs = len(history[present[0]])
    series = {key: as_vector(history[key], f"history[{key!r}]", n_epochs) for key in present}
    epochs = np.arange(1, n_epochs + 1)

    fig, axes = panel_figure(2)
    for ax, (quantity, keys) in zip(axes, panels.items(), strict=True):
        for key in keys:
            if key in series:
                label = "validation" if key.startswith("val_") else "train"
                ax.plot(epochs, series[key], marker="o", markersize=3, label=label)
        ax.set_title(quantity)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    save(fig, path)
