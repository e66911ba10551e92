"""Stage: render reports/report.md from the metrics JSON files and the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.common import run
from uncertainty.data import CLASS_NAMES
from uncertainty.io import read_json, write_text
from uncertainty.report import render_beyond, render_markdown

METRICS_DIR = Path("reports/metrics")
OUTPUT = "reports/report.md"


def main(params: dict[str, Any]) -> None:
    metrics = {path.stem: read_json(path) for path in sorted(METRICS_DIR.glob("*.json"))}
    write_text(OUTPUT, render_markdown(metrics, params, CLASS_NAMES) + "\n" + render_beyond(metrics, params))
    print(f"report: {Path(OUTPUT).resolve()}")


if __name__ == "__main__":
    run(main)
