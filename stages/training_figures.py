"""Stage (one per model in train.models): the per-epoch history figure, drawn from the train stage's CSV.

    python -m stages.training_figures plain

Apart from training so that editing a figure never retrains a CNN.
"""

from __future__ import annotations

import sys

import pandas as pd

from uncertainty.plots import plot_history


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stages.training_figures <model name from train.models>")
    name = sys.argv[1]
    history = pd.read_csv(f"reports/plots/train_{name}.csv")
    plot_history(
        {column: history[column].tolist() for column in history},
        f"reports/figures/history_{name}.png",
        f"{name} CNN",
    )
    print(f"training_figures: reports/figures/history_{name}.png")


if __name__ == "__main__":
    main()
