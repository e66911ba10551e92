"""The article's softmax outputs: a grid of images with their softmax, the noise image, the MC intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from uncertainty.report.plots.common import (
    BAND_COLOR,
    DATA_COLOR,
    INTERVAL_COLOR,
    SMALL_FONT,
    as_vector,
    class_axis,
    count_classes,
    panel_figure,
    save,
)


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
    n_classes = count_classes(class_names)
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
    save(fig, path)


def plot_noise_prediction(
    image: np.ndarray,
    probs: np.ndarray,
    class_names: list[str],
    path: str | Path,
    title: str,
) -> None:
    """The (noise) input image (grey, or in colour) beside the bar chart of its class probabilities."""
    n_classes = count_classes(class_names)
    image = np.asarray(image, dtype=float)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 and not (image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f"image: expected shape (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    probs = as_vector(probs, "probs", n_classes)

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
    class_axis(bar_ax, class_names)
    bar_ax.set_title("Predicted class probabilities")
    fig.suptitle(title)
    save(fig, path)


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
    n_classes = count_classes(class_names)
    plain = as_vector(plain, "plain", n_classes)
    median = as_vector(median, "median", n_classes)
    low = as_vector(low, "low", n_classes)
    high = as_vector(high, "high", n_classes)
    if np.any(low > high):
        raise ValueError("low: every lower percentile must be at most the matching upper one (high)")

    fig, axes = panel_figure(3, sharey=True, height=4.5)
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
        class_axis(ax, class_names)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("probability")
    fig.suptitle(title)
    save(fig, path)
