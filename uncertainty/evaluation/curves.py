"""The DVC plots' data: curves as CSV text, and a directory of one CSV per curve.

Every curve file of the pipeline is written here, in one format (6 significant digits, "\\n"
line ends), so `dvc plots diff` compares like with like across stages and commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from uncertainty.core.io import write_text


def csv_text(data: Any) -> str:
    """A curve as CSV: `data` is columns (name -> values) or rows (a list of name -> value)."""
    return pd.DataFrame(data).to_csv(index=False, float_format="%.6g", lineterminator="\n")


def write_curves(directory: Path, curves: Mapping[str, Any]) -> None:
    """One CSV per curve, <directory>/<name>.csv; the directory holds nothing else (DVC plots it whole)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.csv"):
        stale.unlink()
    for name, data in curves.items():
        write_text(directory / f"{name}.csv", csv_text(data))
