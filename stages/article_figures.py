"""Stage: the figures of the article's noise image and MC batch (article 1.7-1.9), on the article's run only.

Drawn from what the noise and mc_batch stages wrote into reports/figures/article/; on any other run those
stages were skipped (uncertainty.core.article) and the folder stays empty.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import load_npz
from uncertainty.core.schema.mc_batch import McBatch
from uncertainty.core.schema.noise import Noise
from uncertainty.data.dataset_info import read_info
from uncertainty.report.plots.softmax import plot_interval, plot_noise_prediction, plot_softmax_grid

SECTIONS = {"mc_batch": McBatch, "noise": Noise}  # the params.yaml sections it reads


def noise_figures(params: Any, paths: argparse.Namespace, class_names: Sequence[str]) -> None:
    noise = load_npz(paths.noise, keys=("image", "plain", "dropout_mean"))
    plot_noise_prediction(
        noise["image"],
        noise["plain"],
        class_names,
        paths.figures_dir / "noise_plain.png",
        "Plain CNN on noise",
    )
    plot_noise_prediction(
        noise["image"],
        noise["dropout_mean"],
        class_names,
        paths.figures_dir / "noise_dropout_mean.png",
        f"Dropout CNN, mean of {params.noise.mean_passes} passes",
    )


def batch_figures(params: Any, paths: argparse.Namespace, class_names: Sequence[str]) -> None:
    p, figures = params.mc_batch, paths.figures_dir
    batch = load_npz(paths.mc_batch, keys=("median", "low", "high", "plain", "labels"))
    plain, labels = batch["plain"], batch["labels"]  # (B, 10), (B,)
    median, low, high = batch["median"], batch["low"], batch["high"]  # (B, 10) each, over the passes
    plot_softmax_grid(plain, labels, class_names, figures / "softmax_plain_grid.png", "Plain CNN")
    plot_softmax_grid(
        median,
        labels,
        class_names,
        figures / "softmax_mc_median_grid.png",
        f"Median of {p.passes} passes",
    )
    band = f"{p.percentiles[0]:g}-{p.percentiles[1]:g}th percentile"
    for position in p.positions:
        plot_interval(
            plain[position],
            median[position],
            low[position],
            high[position],
            class_names,
            figures / "intervals" / f"position_{position:03d}.png",
            f"Batch position {position}: actual {labels[position]} ({class_names[labels[position]]}), {band}",
        )


def main(params: Any, paths: argparse.Namespace) -> None:
    paths.figures_dir.mkdir(parents=True, exist_ok=True)
    if "skipped" in load_npz(paths.noise):
        print("article_figures: skipped (not the article's run)")
        return
    class_names = read_info(paths.info).class_names
    noise_figures(params, paths, class_names)
    batch_figures(params, paths, class_names)
    print(f"article_figures: {paths.figures_dir}/")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, JSON (prepare_data stage)",
                "noise": "the noise image and its predictions (noise stage)",
                "mc-batch": "the MC batch (mc_batch stage)",
                "figures-dir": "where the figures go, under their fixed names (the report links them)",
            },
        ),
    )
