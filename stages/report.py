"""Stage: render reports/report.md and reports/index.html from the metrics JSON files and figures.

Every number in the report is read from reports/metrics/*.json; the page ends
with the params and library versions that produced it.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

from stages.common import run
from uncertainty.config import PARAMS_FILE
from uncertainty.data import CLASS_NAMES
from uncertainty.io import read_json, write_text
from uncertainty.report import render_beyond, render_html, render_markdown, render_provenance

METRICS_DIR = Path("reports/metrics")
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


def main(params: dict[str, Any]) -> None:
    metrics = {path.stem: read_json(path) for path in sorted(METRICS_DIR.glob("*.json"))}
    text = "\n".join(
        [
            render_markdown(metrics, params, CLASS_NAMES),
            render_beyond(metrics, params),
            render_provenance(PARAMS_FILE.read_text(), versions()),
        ]
    )
    write_text(MARKDOWN, text)
    write_text(HTML, render_html(text, "Uncertainty in deep learning: the article, reproduced and measured"))
    print(f"report: {Path(HTML).resolve()} (and {MARKDOWN})")


if __name__ == "__main__":
    run(main)
