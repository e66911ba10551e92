"""What every figure family shares: the style (sizes, colours) and the helpers that check an argument's
shape and write a figure.

Every public function of a family module takes plain numpy arrays (and dicts of them), checks their
shapes, draws one figure and writes it as a PNG through `save`. The PNG is rendered in memory without a
"Software" or time stamp, so the same data always gives the same bytes (no churn in dvc.lock), and it
lands on disk through `atomic_write`, so a crash never leaves a half-written figure behind.

Shape problems raise `ValueError` with a message naming the argument.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

# The backend is chosen before pyplot is imported.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from uncertainty.core.io import atomic_write

DPI = 120
PANEL_SIZE = 4.0  # inches per panel side
SMALL_FONT = 6

DATA_COLOR = "tab:blue"
POINT_COLOR = "dimgray"  # data points, distinct from the model lines of the colour cycle
BAND_COLOR = "tab:orange"
SPREAD_COLOR = "gold"
INTERVAL_COLOR = "tab:green"
GAP_COLOR = "tab:red"
DIAGONAL_STYLE = {"color": "grey", "linestyle": "--", "linewidth": 1.0}


# --------------------------------------------------------------------------- helpers


def save(fig: Figure, path: str | Path) -> None:
    """Render `fig` to PNG bytes (no metadata stamp), write them atomically, close the figure."""
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        atomic_write(path, buffer.getvalue())
    finally:
        plt.close(fig)


def plot_note(text: str, path: str | Path) -> None:
    """A figure that says why a stage drew nothing (its file is a DVC output either way; the report skips it)."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10)
    save(fig, path)


def as_vector(values: np.ndarray, name: str, length: int | None = None) -> np.ndarray:
    """`values` as a 1-D float array; shape (n,) or (n, 1) accepted, optionally of a given length."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name}: expected shape (n,) or (n, 1), got {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name}: expected {length} values, got {array.shape[0]}")
    return array


def count_classes(class_names: Sequence[str]) -> int:
    if len(class_names) == 0:
        raise ValueError("class_names: expected at least one class name")
    return len(class_names)


def require_non_empty(mapping: Mapping, name: str) -> None:
    if len(mapping) == 0:
        raise ValueError(f"{name}: expected at least one entry, got an empty dict")


def panel_figure(count: int, sharey: bool = False, height: float = PANEL_SIZE) -> tuple[Figure, list[Axes]]:
    """A row of `count` panels side by side."""
    fig, axes = plt.subplots(
        1, count, figsize=(PANEL_SIZE * count, height), sharey=sharey, squeeze=False, layout="constrained"
    )
    return fig, list(axes[0])


def scatter_data(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    ax.scatter(x, y, s=8, color=POINT_COLOR, alpha=0.7, label="data", zorder=3)


def as_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = as_vector(x, "x")
    return x, as_vector(y, "y", len(x))


def as_predictions(predictions: Mapping[str, np.ndarray], grid_length: int) -> dict[str, np.ndarray]:
    require_non_empty(predictions, "predictions")
    return {
        name: as_vector(line, f"predictions[{name!r}]", grid_length) for name, line in predictions.items()
    }


def class_axis(ax: Axes, class_names: Sequence[str], rotation: float = 60) -> None:
    ax.set_xticks(np.arange(len(class_names)))
    ax.set_xticklabels(class_names, rotation=rotation, ha="right", fontsize=8)
