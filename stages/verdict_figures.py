"""Stage: the quality-against-cost figure, drawn from the verdicts stage's curves (no computing here)."""

from __future__ import annotations

import pandas as pd

from stages.cli import parse_paths
from uncertainty.core.vocabulary import use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.evaluation import metric_registry as registry
from uncertainty.report.plots.training import plot_quality_against_cost


def main() -> None:
    paths = parse_paths(
        __doc__,
        {
            "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
            "curve-passes": "quality against MC passes T (verdicts stage)",
            "curve-members": "quality against ensemble size M (verdicts stage)",
            "figure": "the figure, PNG",
        },
    )
    use_data_sets(
        *read_info(paths.info).input_sets
    )  # the curves' OOD columns are named after the data's first set
    # An empty curve file: the run has no MC dropout (or no ensemble) predictor.
    passes, members = (
        pd.read_csv(path) if path.stat().st_size else pd.DataFrame()
        for path in (paths.curve_passes, paths.curve_members)
    )
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
