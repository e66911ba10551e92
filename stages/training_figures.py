"""Stage (one per model in train.models): the per-epoch history figure, drawn from the train stage's CSV.

    python -m stages.training_figures plain --history reports/plots/train_plain.csv \
        --figure reports/figures/history_plain.png

(dvc.yaml passes the paths.) Apart from training so that editing a figure never retrains a CNN.
"""

from __future__ import annotations

import pandas as pd

from stages.cli import parse_paths
from uncertainty.report.plots.training import plot_history


def main() -> None:
    paths = parse_paths(
        __doc__,
        {"history": "the per-epoch history (train stage)", "figure": "the figure, PNG"},
        positional={"name": "model name from train.models (the figure's title)"},
    )
    history = pd.read_csv(paths.history)
    plot_history(
        {column: history[column].tolist() for column in history},
        paths.figure,
        f"{paths.name} CNN",
    )
    print(f"training_figures: {paths.figure}")


if __name__ == "__main__":
    main()
