"""Stage: the article's linear data (article 1.1, docs/article.md) -> data/linear.csv (the figures stage draws it)."""

from __future__ import annotations

import argparse
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import write_text
from uncertainty.core.schema.linear_data import LinearData
from uncertainty.data.linear import linear_data

SECTIONS = {"linear_data": LinearData}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.linear_data
    x, y = linear_data(p.n_points, p.slope, p.intercept, p.noise_mean, p.noise_std, p.seed)
    rows = "".join(f"{xi:.1f},{yi:.6f}\n" for xi, yi in zip(x[:, 0], y[:, 0]))
    write_text(paths.output, "x,y\n" + rows)
    print(f"linear_data: {len(x)} points -> {paths.output}")


if __name__ == "__main__":
    run(main, SECTIONS, parse_paths(__doc__, {"output": "the points, CSV x,y"}))
