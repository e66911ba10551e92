"""Collect a sweep run through DVC's experiment queue into a table and figures.

    python -m uncertainty.sweep [--out reports/sweep]

Reads `dvc exp show --json` (every experiment of the workspace's baseline
commit), keeps those that have the sweep's metrics, and writes:

* ``sweep.csv``: one row per experiment (name, dropout rate, seed, metrics);
* ``summary.csv``: mean and std over seeds per dropout rate;
* ``sweep.png``: dropout rate against accuracy, NLL, ECE and OOD AUROC (mean ± std);
* ``README.md``: the settings and the table, readable on its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from uncertainty.io import write_text

# Column -> (metrics file, dotted key inside it).
METRICS = {
    "accuracy": ("reports/metrics/eval.json", "mc_dropout.accuracy"),
    "nll": ("reports/metrics/eval.json", "mc_dropout.nll"),
    "ece": ("reports/metrics/eval.json", "mc_dropout.ece"),
    "plain_accuracy": ("reports/metrics/eval.json", "plain.accuracy"),
    "auroc_mnist_mi": ("reports/metrics/ood.json", "mnist.mc_dropout.mutual_information.auroc"),
    "auroc_mnist_entropy": ("reports/metrics/ood.json", "mnist.mc_dropout.entropy.auroc"),
    "auroc_uniform_mi": ("reports/metrics/ood.json", "uniform_noise.mc_dropout.mutual_information.auroc"),
    "train_test_accuracy": ("reports/metrics/train_dropout.json", "test_accuracy"),
}
PARAMS = {
    "dropout_rate": "train.models.dropout.dropout_rate",
    "seed": "train.models.dropout.seed",
    "epochs": "train.models.dropout.epochs",
    "mc_passes": "predict.mc_passes",
}
FIGURE_COLUMNS = ("accuracy", "nll", "ece", "auroc_mnist_mi")


def _dig(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _experiments(shown: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, data) of every experiment in `dvc exp show --json` (baselines and workspace skipped).

    Shape (DVC 3): [{"rev", "name", "data", "experiments": [{"revs": [{"name", "data"}]}]}].
    """
    for baseline in shown if isinstance(shown, list) else []:
        for experiment in baseline.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                data = rev.get("data")
                if isinstance(data, Mapping) and "params" in data and "metrics" in data:
                    yield rev.get("name") or data.get("rev", ""), data


def table(shown: Any) -> pd.DataFrame:
    """One row per experiment that has every sweep metric."""
    rows = []
    for name, data in _experiments(shown):
        params = (data["params"].get("params.yaml") or {}).get("data")
        metrics = data["metrics"]
        row: dict[str, Any] = {"experiment": name}
        for column, dotted in PARAMS.items():
            row[column] = _dig(params, dotted)
        for column, (path, dotted) in METRICS.items():
            row[column] = _dig((metrics.get(path) or {}).get("data"), dotted)
        if all(row[c] is not None for c in METRICS):
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.drop_duplicates("experiment").sort_values(["dropout_rate", "seed"]).reset_index(drop=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby("dropout_rate")[list(METRICS)]
    result = grouped.agg(["mean", "std"])
    result.columns = [f"{metric}_{stat}" for metric, stat in result.columns]
    result.insert(0, "seeds", frame.groupby("dropout_rate")["seed"].count())
    return result.reset_index()


def markdown(frame: pd.DataFrame, stats: pd.DataFrame) -> str:
    """A short page: the settings the sweep ran with, and mean ± std over seeds per rate."""
    epochs = sorted({int(e) for e in frame["epochs"].dropna()}) or ["train.epochs"]
    passes = sorted({int(p) for p in frame["mc_passes"].dropna()})
    lines = [
        "# Dropout-rate sweep (DVC experiment queue)\n",
        f"{len(frame)} experiments: dropout rates {sorted(frame['dropout_rate'].unique().tolist())} x seeds "
        f"{sorted(int(s) for s in frame['seed'].unique())}. Each retrains only the dropout CNN for "
        f"{', '.join(map(str, epochs))} epoch(s) (shorter than the pipeline's 16: the numbers are lower "
        f"than the main report's) and scores MC dropout with T = {', '.join(map(str, passes))} passes. "
        "Mean ± std over seeds.\n",
        "| dropout rate | seeds | accuracy | NLL | ECE | AUROC MNIST (MI) | AUROC uniform noise (MI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, row in stats.iterrows():
        cells = [
            f"{row[f'{c}_mean']:.4f} ± {0.0 if pd.isna(row[f'{c}_std']) else row[f'{c}_std']:.4f}"
            for c in ("accuracy", "nll", "ece", "auroc_mnist_mi", "auroc_uniform_mi")
        ]
        lines.append(f"| {row['dropout_rate']:g} | {int(row['seeds'])} | " + " | ".join(cells) + " |")
    lines.append("\n![sweep](sweep.png)\n")
    return "\n".join(lines)


def plot(stats: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uncertainty.plots import _save

    figure, axes = plt.subplots(1, len(FIGURE_COLUMNS), figsize=(4 * len(FIGURE_COLUMNS), 3.4))
    for axis, column in zip(axes, FIGURE_COLUMNS, strict=True):
        mean, std = stats[f"{column}_mean"], stats[f"{column}_std"].fillna(0.0)
        axis.errorbar(stats["dropout_rate"], mean, yerr=std, marker="o", capsize=3)
        axis.set_xlabel("dropout rate")
        axis.set_title(f"MC dropout: {column}")
        axis.grid(alpha=0.3)
    figure.suptitle("Dropout-rate sweep (mean ± std over seeds)")
    figure.tight_layout()
    _save(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/sweep", type=Path)
    parser.add_argument("--from-json", type=Path, help="read this file instead of running dvc exp show")
    args = parser.parse_args()
    if args.from_json:
        shown = json.loads(args.from_json.read_text())
    else:
        # --all-commits: experiments queued on an older baseline commit count too.
        command = ["dvc", "exp", "show", "--json", "--all-commits"]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        shown = json.loads(result.stdout)
    frame = table(shown)
    if frame.empty:
        raise SystemExit(
            "error: no finished sweep experiment found in `dvc exp show` (run `make sweep` first)"
        )
    stats = summary(frame)
    write_text(args.out / "sweep.csv", frame.to_csv(index=False, float_format="%.6g"))
    write_text(args.out / "summary.csv", stats.to_csv(index=False, float_format="%.6g"))
    plot(stats, args.out / "sweep.png")
    write_text(args.out / "README.md", markdown(frame, stats))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(stats[["dropout_rate", "seeds", *(f"{c}_mean" for c in FIGURE_COLUMNS)]].to_string(index=False))
    print(f"sweep: {len(frame)} experiments -> {args.out}/sweep.csv, summary.csv, sweep.png")


if __name__ == "__main__":
    main()
