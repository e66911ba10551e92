"""Stage: the quality-against-cost figure, drawn from the verdicts stage's curves (no computing here)."""

from __future__ import annotations

import pandas as pd

from stages.cli import parse_paths
from uncertainty import metric_registry as registry
from uncertainty.plots import plot_quality_against_cost


def main() -> None:
    paths = parse_paths(
        __doc__,
        {
            "curve-passes": "quality against MC passes T (verdicts stage)",
            "curve-members": "quality against ensemble size M (verdicts stage)",
            "figure": "the figure, PNG",
        },
    )
    passes = pd.read_csv(paths.curve_passes)
    members = pd.read_csv(paths.curve_members)
    panels = {column: registry.label(registry.curve_metrics()[column]) for column in registry.curve_panels()}
    plot_quality_against_cost(
        {c: passes[c].to_numpy() for c in passes},
        {c: members[c].to_numpy() for c in members},
        paths.figure,
        panels,
    )
    print(f"verdict_figures: {paths.figure}")


if __name__ == "__main__":
    main()
