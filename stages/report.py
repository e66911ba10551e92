"""Stage: render reports/report.md and reports/index.html from the metrics JSON files and figures.

Every number in the report is read from reports/metrics/*.json; the page ends
with the params and library versions that produced it.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from stages.common import run
from uncertainty.fashion_mnist import CLASS_NAMES
from uncertainty.io import read_json, write_text
from uncertainty.machine import describe, machine_info
from uncertainty.params import PARAMS_FILE
from uncertainty.report import render_beyond, render_html, render_markdown, render_provenance, render_verdicts

METRICS_DIR = Path("reports/metrics")
MACHINE_DIR = Path("reports/machine")
PLOTS_DIR = Path("reports/plots")
MARKDOWN = "reports/report.md"
HTML = "reports/index.html"
PACKAGES = ("tensorflow-cpu", "keras", "dvc", "numpy", "scikit-learn", "matplotlib", "mlxtend")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except Exception:  # a package installed under another name (e.g. tensorflow)
            found[package] = "not installed"
    return found


def machines() -> dict[str, str]:
    """Which CPU trained which model (reports/machine/train_*.json), and the one rendering this report."""
    trained: dict[str, list[str]] = {}
    for path in sorted(MACHINE_DIR.glob("train_*.json")):
        trained.setdefault(describe(read_json(path)["machine"]), []).append(path.stem.removeprefix("train_"))
    rows = {f"trained {', '.join(models)} on": description for description, models in trained.items()}
    rows["report rendered on"] = describe(machine_info())
    return rows


def costs(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per predictor (one of it, as used): trainings x epochs, fit seconds, passes per image, test-set seconds.

    Seconds are means over the seeded trainings of a single-model predictor; the ensemble costs the sum
    over its members. Read from reports/machine/ (measurements, not results: they vary run to run).
    """
    inference_path = MACHINE_DIR / "inference.json"
    if not inference_path.is_file():
        return {}
    inference = read_json(inference_path)["test_set_seconds"]
    trained = {path.stem.removeprefix("train_"): read_json(path) for path in MACHINE_DIR.glob("train_*.json")}

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


def curves() -> dict[str, list[dict[str, float]]]:
    found = {}
    for name in ("passes", "members"):
        path = PLOTS_DIR / f"curve_{name}.csv"
        if path.is_file():
            found[name] = pd.read_csv(path).to_dict("records")
    return found


def main(params: dict[str, Any]) -> None:
    metrics = {path.stem: read_json(path) for path in sorted(METRICS_DIR.glob("*.json"))}
    text = "\n".join(
        [
            render_markdown(metrics, params, CLASS_NAMES),
            render_beyond(metrics, params),
            render_verdicts(metrics, params, costs(params), curves()),
            render_provenance(PARAMS_FILE.read_text(), versions(), machines()),
        ]
    )
    write_text(MARKDOWN, text)
    write_text(HTML, render_html(text, "Uncertainty in deep learning: the article, reproduced and measured"))
    print(f"report: {Path(HTML).resolve()} (and {MARKDOWN})")


if __name__ == "__main__":
    run(main)
