"""Stage: the quality-against-cost figure, drawn from the verdicts stage's curves (no computing here)."""

from __future__ import annotations

import pandas as pd

from uncertainty.plots import plot_quality_against_cost

FIGURE = "reports/figures/quality_against_cost.png"


def main() -> None:
    passes = pd.read_csv("reports/plots/curve_passes.csv")
    members = pd.read_csv("reports/plots/curve_members.csv")
    plot_quality_against_cost(
        {c: passes[c].to_numpy() for c in passes}, {c: members[c].to_numpy() for c in members}, FIGURE
    )
    print(f"verdict_figures: {FIGURE}")


if __name__ == "__main__":
    main()
