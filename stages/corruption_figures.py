"""Stage: the figures under corruption, drawn from what the compute stages wrote (no computing here).

* corruptions.png: the first test image under every corruption at every severity (corrupt stage);
* corruption_heat_map.png: predictor x corruption, the ECE at the heat map's severity (corrupt.verdict_severities'
  first) of each predictor's first training (evaluate stage);
* corruption_severity.png: accuracy, NLL, ECE and the conformal sets' coverage against severity, the
  mean over corruptions and over trainings with its interval over seeds and images shaded (verdicts and
  conformal stages); severity 0 is the clean test set.

The predictors drawn are those with outputs on the corrupted images whose probabilities no earlier one has
(a score-only predictor repeats the plain CNN's).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import load_npz, read_json
from uncertainty.core.names import format_number
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.core.schema.predictors import Predictors
from uncertainty.evaluation import corrupted
from uncertainty.evaluation import metric_registry as registry
from uncertainty.report.plots.common import plot_note
from uncertainty.report.plots.corruption import plot_corruption_grid, plot_heat_map
from uncertainty.report.plots.evaluation import plot_shift

SECTIONS = {"corrupt": Corrupt, "predictors": Predictors}  # the params.yaml sections it reads


def heat_map_severity(p: Any) -> int:
    """The severity of the heat map: the first verdict severity (Ovadia et al.'s middle one), else the middle."""
    return (p.verdict_severities or [p.severities[len(p.severities) // 2]])[0]


def main(params: Any, paths: argparse.Namespace) -> None:
    p, figures = params.corrupt, paths.figures_dir
    data = load_npz(paths.corrupted)
    table, seeds, found = (
        read_json(paths.corruption_table),
        read_json(paths.seeds_table),
        read_json(paths.conformal_table),
    )
    if "images" in data:
        images = data["images"][:, 0].reshape(
            len(p.corruptions), len(p.severities), *data["images"].shape[2:]
        )
        plot_corruption_grid(
            images, data["clean"][0], p.corruptions, p.severities, figures / "corruptions.png"
        )
    else:  # saved predictions: the corrupted outputs, if the file has them, but no images to show
        plot_note("Saved predictions: no images to show corrupted.", figures / "corruptions.png")
    shown = corrupted.distinct(params.predictors, table)
    if not shown:  # no predictor has outputs on corrupted images
        for name in ("corruption_heat_map.png", "corruption_severity.png"):
            plot_note("No outputs on corrupted images: nothing measured under corruption.", figures / name)
        print(f"corruption_figures: no corrupted outputs; {figures}: notes only")
        return
    labels = {name: params.predictors[name].label for name in shown}

    severity = str(heat_map_severity(p))
    plot_heat_map(
        np.array([[table[name]["conditions"][c][severity]["ece"] for c in p.corruptions] for name in shown]),
        [labels[name] for name in shown], p.corruptions, figures / "corruption_heat_map.png",
        f"ECE at severity {severity} (first training of each)",
    )  # fmt: skip

    x = np.array([0, *p.severities])
    values: dict[str, dict[str, np.ndarray]] = {}
    bands: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for metric in (m for m in registry.METRICS if m.shift):
        for name in (n for n in shown if metric.name in seeds[n].get("corrupted", {})):
            at = [
                seeds[name][metric.name],
                *(seeds[name]["corrupted"][metric.name][str(s)] for s in p.severities),
            ]
            values.setdefault(metric.label, {})[labels[name]] = np.array([a["mean"] for a in at])
            bands.setdefault(metric.label, {})[labels[name]] = (
                np.array([a["low"] for a in at]),
                np.array([a["high"] for a in at]),
            )
    coverage = f"coverage, {p.conformal_score}, alpha {format_number(p.conformal_alpha)}"
    for name in (n for n in shown if n in found):
        entry = found[name][p.conformal_score][format_number(p.conformal_alpha)]
        if (
            not entry.get("corrupted")
            or "low" not in entry["corrupted"]["severity"][str(p.severities[0])]["coverage"]
        ):
            continue  # no interval over seeds: not every training was inferred on the corrupted images
        at = [entry["coverage"], *(entry["corrupted"]["severity"][str(s)]["coverage"] for s in p.severities)]
        values.setdefault(coverage, {})[labels[name]] = np.array([a["mean"] for a in at])
        bands.setdefault(coverage, {})[labels[name]] = (
            np.array([a["low"] for a in at]),
            np.array([a["high"] for a in at]),
        )
    plot_shift(
        x, values, figures / "corruption_severity.png", xlabel="severity (0 = clean), mean over corruptions",
        targets={coverage: 1 - p.conformal_alpha}, bands=bands,
    )  # fmt: skip
    print(f"corruption_figures: {figures}/corruptions.png, corruption_heat_map.png, corruption_severity.png")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "corrupted": "the corrupted test images (corrupt stage)",
                "corruption-table": "the metrics per predictor, corruption and severity (evaluate stage)",
                "seeds-table": "means and intervals over seeds and images (verdicts stage)",
                "conformal-table": "coverage under corruption (conformal stage)",
                "figures-dir": "where the figures go, under their fixed names (the report links them)",
            },
        ),
    )
