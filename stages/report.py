"""Stage: render reports/report.md and reports/index.html from the metrics JSON files and figures.

Every number in the report is read from reports/metrics/*.json; the page ends
with the params and library versions that produced it.
"""

from __future__ import annotations

import argparse
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from stages.cli import parse_paths
from stages.common import run
from uncertainty.fashion_mnist import CLASS_NAMES
from uncertainty.io import read_json, write_text
from uncertainty.machine import describe, machine_info
from uncertainty.params import PARAMS_FILE
from uncertainty.report import render_beyond, render_html, render_markdown, render_provenance, render_verdicts

PACKAGES = ("tensorflow-cpu", "keras", "dvc", "numpy", "scikit-learn", "matplotlib", "mlxtend")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except Exception:  # a package installed under another name (e.g. tensorflow)
            found[package] = "not installed"
    return found


def machines(machine_dir: Path) -> dict[str, str]:
    """Which CPU trained which model (<machine_dir>/train_*.json), and the one rendering this report."""
    trained: dict[str, list[str]] = {}
    for path in sorted(machine_dir.glob("train_*.json")):
        trained.setdefault(describe(read_json(path)["machine"]), []).append(path.stem.removeprefix("train_"))
    rows = {f"trained {', '.join(models)} on": description for description, models in trained.items()}
    rows["report rendered on"] = describe(machine_info())
    return rows


def costs(params: dict[str, Any], machine_dir: Path) -> dict[str, dict[str, Any]]:
    """Per predictor (one of it, as used): trainings x epochs, fit seconds, passes per image, test-set seconds.

    Seconds are means over the seeded trainings of a single-model predictor; the ensemble costs the sum
    over its members. Read from machine_dir (measurements, not results: they vary run to run):
    train_<model>.json from the train stages, inference.json from the seeds stage.
    """
    inference_path = machine_dir / "inference.json"
    if not inference_path.is_file():
        return {}
    inference = read_json(inference_path)["test_set_seconds"]
    trained = {path.stem.removeprefix("train_"): read_json(path) for path in machine_dir.glob("train_*.json")}

    def single(models: list[str], passes: int) -> dict[str, Any]:
        """One training of a single-model predictor: seconds are the mean over its seeds."""
        return {
            "trainings": 1,
            "epochs": trained[models[0]]["epochs"],
            "train_seconds": sum(trained[m]["train_seconds"] for m in models) / len(models),
            "passes_per_image": passes,
            "test_seconds": sum(inference[m] for m in models) / len(models),
        }

    members = params["predict"]["ensemble"]
    return {
        "plain": single(params["seeds"]["plain"], 1),
        "mc_dropout": single(params["seeds"]["dropout"], params["predict"]["mc_passes"]),
        "ensemble": {
            "trainings": len(members),
            "epochs": trained[members[0]]["epochs"],
            "train_seconds": sum(trained[m]["train_seconds"] for m in members),
            "passes_per_image": len(members),
            "test_seconds": sum(inference[m] for m in members),
        },
    }


def curves(passes: Path, members: Path) -> dict[str, list[dict[str, float]]]:
    """Quality against MC passes T and ensemble size M (the verdicts stage's CSVs), as records."""
    found = {}
    for name, path in (("passes", passes), ("members", members)):
        if path.is_file():
            found[name] = pd.read_csv(path).to_dict("records")
    return found


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    metrics = {path.stem: read_json(path) for path in sorted(paths.metrics_dir.glob("*.json"))}
    text = "\n".join(
        [
            render_markdown(metrics, params, CLASS_NAMES),
            render_beyond(metrics, params),
            render_verdicts(
                metrics,
                params,
                costs(params, paths.machine_dir),
                curves(paths.curve_passes, paths.curve_members),
            ),
            render_provenance(PARAMS_FILE.read_text(), versions(), machines(paths.machine_dir)),
        ]
    )
    write_text(paths.markdown, text)
    write_text(
        paths.html, render_html(text, "Uncertainty in deep learning: the article, reproduced and measured")
    )
    print(f"report: {paths.html.resolve()} (and {paths.markdown})")


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "metrics-dir": "every metrics JSON, each a section's numbers",
                "machine-dir": "train_<model>.json and inference.json: CPUs and seconds",
                "curve-passes": "quality against MC passes T (verdicts stage)",
                "curve-members": "quality against ensemble size M (verdicts stage)",
                "markdown": "the report, Markdown (it links the figures as figures/<name>.png)",
                "html": "the same, HTML",
            },
        ),
    )
