"""The corruptions: every corruption at every severity, and a heat map of a metric per predictor and corruption."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from uncertainty.report.plots.common import (
    save,
)


def plot_corruption_grid(
    images: np.ndarray, clean: np.ndarray, names: Sequence[str], severities: Sequence[int], path: str | Path
) -> None:
    """Small multiples: one row per corruption, the clean image then each severity.

    images: (C, S, H, W) or (C, S, H, W, channels) in [0, 1] or 0..255; clean: (H, W[, channels]).
    """
    images = np.asarray(images, dtype=float)
    if images.ndim not in (4, 5) or images.shape[:2] != (len(names), len(severities)):
        raise ValueError(
            f"images must be (corruptions {len(names)}, severities {len(severities)}, H, W[, C]), got {images.shape}"
        )
    scale = 255.0 if images.max() > 1 else 1.0
    rows, cols = len(names), len(severities) + 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.1 * cols + 1.2, 1.1 * rows), squeeze=False, layout="constrained"
    )
    for row, name in enumerate(names):
        for col in range(cols):
            picture = np.asarray(clean, dtype=float) if col == 0 else images[row, col - 1]
            ax = axes[row][col]
            ax.imshow(np.squeeze(picture / scale), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title("clean" if col == 0 else f"severity {severities[col - 1]}", fontsize=8)
        axes[row][0].set_ylabel(name.replace("_", " "), fontsize=8, rotation=0, ha="right", va="center")
    save(fig, path)


def plot_heat_map(
    values: np.ndarray, rows: Sequence[str], columns: Sequence[str], path: str | Path, title: str
) -> None:
    """A (rows, columns) table of numbers as colours, each cell printed (predictor x corruption)."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(rows), len(columns)):
        raise ValueError(f"values must be ({len(rows)}, {len(columns)}), got {values.shape}")
    fig, ax = plt.subplots(figsize=(0.62 * len(columns) + 3.0, 0.42 * len(rows) + 1.8), layout="constrained")
    shown = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(
        range(len(columns)), [c.replace("_", " ") for c in columns], rotation=60, ha="right", fontsize=8
    )
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    middle = np.nanmean(values)
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=6,
            color="black" if value > middle else "white",
        )
    fig.colorbar(shown, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    save(fig, path)
