"""Figures of the article: toy regression, softmax outputs, intervals, calibration, OOD and shift.

Every public function takes plain numpy arrays (and dicts of them), checks their
shapes, draws one figure and writes it as a PNG through `_save`. The PNG is
rendered in memory without a "Software" or time stamp, so the same data always
gives the same bytes (no churn in dvc.lock), and it lands on disk through
`atomic_write`, so a crash never leaves a half-written figure behind.

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
from matplotlib.ticker import MaxNLocator

from uncertainty.io import atomic_write

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


def _save(fig: Figure, path: str | Path) -> None:
    """Render `fig` to PNG bytes (no metadata stamp), write them atomically, close the figure."""
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        atomic_write(path, buffer.getvalue())
    finally:
        plt.close(fig)


def _vector(values: np.ndarray, name: str, length: int | None = None) -> np.ndarray:
    """`values` as a 1-D float array; shape (n,) or (n, 1) accepted, optionally of a given length."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name}: expected shape (n,) or (n, 1), got {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name}: expected {length} values, got {array.shape[0]}")
    return array


def _class_count(class_names: Sequence[str]) -> int:
    if len(class_names) == 0:
        raise ValueError("class_names: expected at least one class name")
    return len(class_names)


def _non_empty(mapping: Mapping, name: str) -> None:
    if len(mapping) == 0:
        raise ValueError(f"{name}: expected at least one entry, got an empty dict")


def _panels(count: int, sharey: bool = False, height: float = PANEL_SIZE) -> tuple[Figure, list[Axes]]:
    """A row of `count` panels side by side."""
    fig, axes = plt.subplots(
        1, count, figsize=(PANEL_SIZE * count, height), sharey=sharey, squeeze=False, layout="constrained"
    )
    return fig, list(axes[0])


def _scatter_data(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    ax.scatter(x, y, s=8, color=POINT_COLOR, alpha=0.7, label="data", zorder=3)


def _xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _vector(x, "x")
    return x, _vector(y, "y", len(x))


def _predictions(predictions: Mapping[str, np.ndarray], grid_length: int) -> dict[str, np.ndarray]:
    _non_empty(predictions, "predictions")
    return {name: _vector(line, f"predictions[{name!r}]", grid_length) for name, line in predictions.items()}


def _class_axis(ax: Axes, class_names: Sequence[str], rotation: float = 60) -> None:
    ax.set_xticks(np.arange(len(class_names)))
    ax.set_xticklabels(class_names, rotation=rotation, ha="right", fontsize=8)


# --------------------------------------------------------------------------- toy regression


def plot_linear_data(x: np.ndarray, y: np.ndarray, path: str | Path) -> None:
    """Scatter of the toy regression data."""
    x, y = _xy(x, y)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    _scatter_data(ax, x, y)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Training data")
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_regressors(
    x: np.ndarray,
    y: np.ndarray,
    grid_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    path: str | Path,
) -> None:
    """One panel per model (titled by its name): the data and that model's prediction over `grid_x`."""
    x, y = _xy(x, y)
    grid_x = _vector(grid_x, "grid_x")
    lines = _predictions(predictions, len(grid_x))
    fig, axes = _panels(len(lines), sharey=True)
    for ax, (name, line) in zip(axes, lines.items(), strict=True):
        _scatter_data(ax, x, y)
        ax.plot(grid_x, line, color="black", linewidth=1.5, label="prediction")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("y")
    axes[0].legend(loc="upper left", fontsize=8)
    _save(fig, path)


def plot_extrapolation(
    x: np.ndarray,
    y: np.ndarray,
    grid_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    path: str | Path,
) -> None:
    """All models' lines on one panel, the mean ± 2 std band across models, the data's x range shaded."""
    x, y = _xy(x, y)
    grid_x = _vector(grid_x, "grid_x")
    lines = _predictions(predictions, len(grid_x))
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
    _scatter_data(ax, x, y)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Extrapolation outside the training range")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    _save(fig, path)


# --------------------------------------------------------------------------- softmax outputs


def plot_softmax_grid(
    probs: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    path: str | Path,
    title: str,
    rows: int = 5,
    cols: int = 5,
) -> None:
    """A rows x cols grid of bar charts of the class probabilities of the first rows·cols samples."""
    n_classes = _class_count(class_names)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[1] != n_classes:
        raise ValueError(f"probs: expected shape (N, {n_classes}), got {probs.shape}")
    labels = np.asarray(labels)
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"labels: expected shape ({probs.shape[0]},), got {labels.shape}")
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be positive, got {rows}x{cols}")

    shown = min(rows * cols, probs.shape[0])
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.9 * cols, 1.6 * rows + 0.6), sharey=True, squeeze=False, layout="constrained"
    )
    classes = np.arange(n_classes)
    for index, ax in enumerate(axes.flat):
        if index >= shown:
            ax.set_visible(False)
            continue
        predicted = int(np.argmax(probs[index]))
        ax.bar(classes, probs[index], color=DATA_COLOR)
        ax.set_ylim(0, 1)
        ax.set_xticks(classes)
        ax.tick_params(labelsize=SMALL_FONT)
        ax.set_title(f"Predicted {predicted} // Actual {int(labels[index])}", fontsize=SMALL_FONT)
    legend = ", ".join(f"{i}: {name}" for i, name in enumerate(class_names))
    fig.suptitle(f"{title}\n{legend}", fontsize=8)
    _save(fig, path)


def plot_noise_prediction(
    image: np.ndarray,
    probs: np.ndarray,
    class_names: list[str],
    path: str | Path,
    title: str,
) -> None:
    """The (noise) input image (grey, or in colour) beside the bar chart of its class probabilities."""
    n_classes = _class_count(class_names)
    image = np.asarray(image, dtype=float)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 and not (image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f"image: expected shape (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    probs = _vector(probs, "probs", n_classes)

    fig, (image_ax, bar_ax) = plt.subplots(1, 2, figsize=(9, 4), width_ratios=[1, 1.6], layout="constrained")
    image_ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    image_ax.set_axis_off()
    image_ax.set_title("Input")

    classes = np.arange(n_classes)
    bars = bar_ax.bar(classes, probs, color=DATA_COLOR)
    top = int(np.argmax(probs))
    bars[top].set_color(BAND_COLOR)
    bar_ax.annotate(
        f"{probs[top]:.1%}",
        xy=(top, probs[top]),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=9,
        annotation_clip=False,  # stays visible above a bar at 1
    )
    bar_ax.set_ylim(0, 1)
    bar_ax.set_ylabel("probability")
    _class_axis(bar_ax, class_names)
    bar_ax.set_title("Predicted class probabilities")
    fig.suptitle(title)
    _save(fig, path)


def plot_interval(
    plain: np.ndarray,
    median: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    class_names: list[str],
    path: str | Path,
    title: str,
) -> None:
    """Three panels sharing y (0..1): plain softmax | MC-dropout median | low-high percentile band."""
    n_classes = _class_count(class_names)
    plain = _vector(plain, "plain", n_classes)
    median = _vector(median, "median", n_classes)
    low = _vector(low, "low", n_classes)
    high = _vector(high, "high", n_classes)
    if np.any(low > high):
        raise ValueError("low: every lower percentile must be at most the matching upper one (high)")

    fig, axes = _panels(3, sharey=True, height=4.5)
    classes = np.arange(n_classes)
    axes[0].bar(classes, plain, color=DATA_COLOR)
    axes[0].set_title("Softmax (no dropout)")
    axes[1].bar(classes, median, color=BAND_COLOR)
    axes[1].set_title("MC dropout median")
    # The median with its band as an error bar: a narrow band (0.99 to 1.0, a confident class) stays
    # visible as a marker with caps, where a floating bar of height 0.01 would vanish.
    axes[2].errorbar(
        classes,
        median,
        yerr=np.vstack([median - low, high - median]).clip(min=0),
        fmt="o",
        color=INTERVAL_COLOR,
        ecolor=INTERVAL_COLOR,
        elinewidth=2,
        capsize=5,
        markersize=5,
        clip_on=False,  # a band touching 0 or 1 stays whole on the axis edge
    )
    axes[2].set_title("MC dropout median and percentile band")
    for ax in axes:
        ax.set_ylim(0, 1)
        _class_axis(ax, class_names)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("probability")
    fig.suptitle(title)
    _save(fig, path)


# --------------------------------------------------------------------------- calibration and OOD


def plot_reliability(bins: dict[str, dict], path: str | Path, eces: Mapping[str, float]) -> None:
    """Reliability diagrams, one panel per predictor: accuracy per confidence bin, the diagonal, the gap.

    Each value of `bins` holds arrays `edges` (n_bins + 1), `count`, `accuracy`
    and `confidence` (n_bins each); empty bins are not drawn. eces[name] is the ECE printed
    in the title, from eval.json: a figure draws numbers, it computes none.
    """
    _non_empty(bins, "bins")
    checked = {}
    for name, table in bins.items():
        missing = [key for key in ("edges", "count", "accuracy", "confidence") if key not in table]
        if missing:
            raise ValueError(f"bins[{name!r}]: missing arrays {missing}")
        edges = _vector(table["edges"], f"bins[{name!r}]['edges']")
        if len(edges) < 2:
            raise ValueError(f"bins[{name!r}]['edges']: expected at least 2 edges, got {len(edges)}")
        n_bins = len(edges) - 1
        checked[name] = (
            edges,
            _vector(table["count"], f"bins[{name!r}]['count']", n_bins),
            _vector(table["accuracy"], f"bins[{name!r}]['accuracy']", n_bins),
            _vector(table["confidence"], f"bins[{name!r}]['confidence']", n_bins),
        )

    fig, axes = _panels(len(checked), sharey=True)
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
    _save(fig, path)


def plot_roc(
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    path: str | Path,
    aurocs: Mapping[str, Mapping[str, float]],
) -> None:
    """ROC curves, one panel per OOD set and one line per predictor/score, from (fpr, tpr) pairs.

    aurocs[ood_set][label]: the AUROC printed in the legend, from ood.json (computed on every
    point, not on the drawn, thinned curve).
    """
    _non_empty(curves, "curves")
    checked: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for ood_set, lines in curves.items():
        _non_empty(lines, f"curves[{ood_set!r}]")
        checked[ood_set] = {}
        for label, (fpr, tpr) in lines.items():
            fpr = _vector(fpr, f"curves[{ood_set!r}][{label!r}] fpr")
            checked[ood_set][label] = (fpr, _vector(tpr, f"curves[{ood_set!r}][{label!r}] tpr", len(fpr)))

    fig, axes = _panels(len(checked), sharey=True)
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
    _save(fig, path)


def plot_risk_coverage(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> None:
    """Accuracy on the retained samples against coverage, one line per label (coverage, accuracy)."""
    _non_empty(curves, "curves")
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for label, (coverage, accuracy) in curves.items():
        coverage = _vector(coverage, f"curves[{label!r}] coverage")
        accuracy = _vector(accuracy, f"curves[{label!r}] accuracy", len(coverage))
        ax.plot(coverage, accuracy, linewidth=1.5, label=label)
    ax.set_xlim(0, 1)
    ax.set_xlabel("coverage")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy against coverage")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, path)


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
    angles = _vector(angles, "angles")
    _non_empty(values, "values")
    checked: dict[str, dict[str, np.ndarray]] = {}
    for quantity, lines in values.items():
        _non_empty(lines, f"values[{quantity!r}]")
        checked[quantity] = {
            predictor: _vector(line, f"values[{quantity!r}][{predictor!r}]", len(angles))
            for predictor, line in lines.items()
        }

    fig, axes = _panels(len(checked))
    for ax, (quantity, lines) in zip(axes, checked.items(), strict=True):
        for predictor, line in lines.items():
            (drawn,) = ax.plot(angles, line, marker="o", markersize=3, linewidth=1.5, label=predictor)
            band = (bands or {}).get(quantity, {}).get(predictor)
            if band is not None:
                low = _vector(band[0], f"bands[{quantity!r}][{predictor!r}] low", len(angles))
                high = _vector(band[1], f"bands[{quantity!r}][{predictor!r}] high", len(angles))
                ax.fill_between(angles, low, high, color=drawn.get_color(), alpha=0.15, linewidth=0)
        if targets and quantity in targets:
            ax.axhline(targets[quantity], **DIAGONAL_STYLE)
        ax.set_title(quantity)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    _save(fig, path)


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
    _save(fig, path)


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
    _save(fig, path)


# --------------------------------------------------------------------------- training


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
    fig, axes = _panels(len(quantities), height=3.5)
    for ax, (key, label) in zip(axes, quantities.items(), strict=True):
        if "passes" in passes:  # a run without MC dropout (or without an ensemble) draws the other alone
            t = _vector(passes["passes"], "passes['passes']")
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
            m = _vector(members["members"], "members['members']")
            ax.plot(m, members[key], marker="s", markersize=4, label="ensemble, M members")
        ax.set_xscale("log")
        ax.set_xlabel("T passes or M members (log scale)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    if passes or members:
        axes[0].legend(fontsize=8)
    fig.suptitle("Quality against inference cost (forward passes per image)")
    _save(fig, path)


def plot_history(history: dict[str, list[float]], path: str | Path, title: str) -> None:
    """Loss and accuracy (train and validation) per epoch, two panels; absent keys are skipped."""
    panels = {"loss": ("loss", "val_loss"), "accuracy": ("accuracy", "val_accuracy")}
    present = [key for keys in panels.values() for key in keys if key in history]
    if not present:
        raise ValueError(
            f"history: expected some of {[k for keys in panels.values() for k in keys]}, got none"
        )
    n_epochs = len(history[present[0]])
    series = {key: _vector(history[key], f"history[{key!r}]", n_epochs) for key in present}
    epochs = np.arange(1, n_epochs + 1)

    fig, axes = _panels(2)
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
    _save(fig, path)
