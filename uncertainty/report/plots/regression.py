"""The article's toy regression: the linear data, the three regressors and their extrapolation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from uncertainty.report.plots.common import (
    SPREAD_COLOR,
    as_predictions,
    as_vector,
    as_xy,
    panel_figure,
    save,
    scatter_data,
)


def plot_linear_data(x: np.ndarray, y: np.ndarray, path: str | Path) -> None:
    """Scatter of the toy regression data."""
    x, y = as_xy(x, y)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    scatter_data(ax, x, y)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Training data")
    ax.grid(alpha=0.3)
    save(fig, path)


def plot_regressors(
    x: np.ndarray,
    y: np.ndarray,
    grid_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    path: str | Path,
) -> None:
    """One panel per model (titled by its name): the data and that model's prediction over `grid_x`."""
    x, y = as_xy(x, y)
    grid_x = as_vector(grid_x, "grid_x")
    lines = as_predictions(predictions, len(grid_x))
    fig, axes = panel_figure(len(lines), sharey=True)
    for ax, (name, line) in zip(axes, lines.items(), strict=True):
        scatter_data(ax, x, y)
        ax.plot(grid_x, line, color="black", linewidth=1.5, label="prediction")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("y")
    axes[0].legend(loc="upper left", fontsize=8)
    save(fig, path)


def plot_extrapolation(
    x: np.ndarray,
    y: np.ndarray,
    grid_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    path: str | Path,
) -> None:
    """All models' lines on one panel, the mean ± 2 std band across models, the data's x range shaded."""
    x, y = as_xy(x, y)
    grid_x = as_vector(grid_x, "grid_x")
    lines = as_predictions(predictions, len(grid_x))
    stacked = np.stack(list(lines.values()))
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)

    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    ax.axvspan(x.min(), x.max(), color="grey", alpha=0.15, label="training range")
    ax.fill_between(
        grid_x, mean - 2 * std, mean + 2 * std, color=SPREAD_COLOR, alpha=0.4, label="mean ± 2 std"
    )
    for name, line in lines.items():
        ax.plot(grid_x, line, linewidth=1.0, label=name)
    ax.plot(grid_x, mean, color="black", linewidth=1.5, linestyle="--", label="mean")
    scatter_data(ax, x, y)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Extrapolation outside the training range")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    save(fig, path)
