"""Sweeps through DVC's experiment queue, split over machines, collected through DVC's API.

    python -m uncertainty.sweep run     --part 1/2 --jobs 1 -S 'train.models.dropout.dropout_rate=0.1,0.5' ... evaluate
    python -m uncertainty.sweep queue   --part 1/2 -S ... evaluate   (run = queue, run the queue, record, collect)
    python -m uncertainty.sweep record  --part 1/2 -S ...     (after `dvc exp run --run-all`)
    python -m uncertainty.sweep push    [--remote origin]
    python -m uncertainty.sweep pull    [--remote origin]
    python -m uncertainty.sweep collect -S ... [--out reports/sweep]

The grid is written in DVC's own sweep syntax (`-S key=a,b,c`, Hydra's override grammar)
and expanded by DVC's own code, in DVC's order. `--part k/n` keeps every n-th point
starting at the k-th, so the n parts cover the grid exactly once, on any machine. Each
point becomes an experiment named after its swept values (`dropout_rate-0.1-seed-84`), so
running a part again skips what already ran instead of duplicating it.

An experiment that fails leaves no experiment ref, so nothing would tell another clone
about it. `record` therefore writes a git ref `refs/sweep-failed/<name>` pointing at a blob
with the tail of its log; `push` sends those refs with the experiments (`dvc exp push`), and
`pull` fetches them, so the collected table says *failed* instead of silently missing a row.
A later success deletes the failure ref (locally, and on the remote at the next push).

`collect` writes into --out:
* ``sweep.csv``: one row per grid point (or per experiment found, without a grid), its
  status (done, failed, not run), params and metrics;
* ``summary.csv``: mean and std over seeds per dropout rate (finished experiments);
* ``sweep.png``: dropout rate against accuracy, NLL, ECE and OOD AUROC (mean ± std);
* ``README.md``: the settings and the table, readable on its own.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from uncertainty.core.io import write_text
from uncertainty.core.vocabulary import first_ood, ood_sets
from uncertainty.evaluation import metric_registry as registry

FAILED_REFS = "refs/sweep-failed"

# Column -> (metrics file, key inside it, words), from the metric registry: the swept predictor's
# test-set metrics and its AUROC against each OOD set (mutual information; the first set also by
# entropy). dvc.api.exp_show names a column "<file>:<key>" only where two files share the key, so
# both spellings are looked up.
SWEPT = "mc_dropout"
_EVAL, _OOD = "reports/metrics/eval.json", "reports/metrics/ood.json"
_AUROC = registry.BY_NAME["ood_auroc"]
METRICS: dict[str, tuple[str, str, str]] = {
    **{m.name: (_EVAL, f"{SWEPT}.{m.file_key}", m.label) for m in registry.METRICS if m.file == "eval"},
    "plain_accuracy": (_EVAL, "plain.accuracy", "plain CNN accuracy"),
    **{
        f"auroc_{set_name}_{score}": (
            _OOD, f"{set_name}.{SWEPT}.{score}.{_AUROC.file_key}", registry.label((_AUROC.name, set_name, score))
        )
        for set_name, score in (
            *((s, "mutual_information") for s in ood_sets()), (first_ood(), "entropy"),
        )
    },
    "train_test_accuracy": ("reports/metrics/train_dropout.json", "test_accuracy", "its training's test accuracy"),
}  # fmt: skip
PARAMS = {
    "dropout_rate": "train.models.dropout.dropout_rate",
    "seed": "train.models.dropout.seed",
    "epochs": "train.models.dropout.epochs",
    "mc_passes": "infer.mc_passes",
}
FIGURE_COLUMNS = ("accuracy", "nll", "ece", f"auroc_{first_ood()}_mutual_information")
TABLE_COLUMNS = ("accuracy", "nll", "ece", *(f"auroc_{s}_mutual_information" for s in ood_sets()))


# --------------------------------------------------------------------------- the grid and its parts


def grid(overrides: Sequence[str]) -> list[list[str]]:
    """Every point of the grid, each a list of `key=value` overrides, in DVC's own order."""
    from dvc.utils.hydra import get_hydra_sweeps

    if not overrides:
        return []
    return [point["params.yaml"] for point in get_hydra_sweeps({"params.yaml": list(overrides)})]


def parse_part(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"SWEEP_PART must be k/n with 1 <= k <= n (e.g. 1/2), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def part(points: Sequence[list[str]], which: str) -> list[list[str]]:
    """Part k of n: points k-1, k-1+n, k-1+2n, ... (the n parts cover the grid exactly once)."""
    k, n = parse_part(which)
    return [point for index, point in enumerate(points) if index % n == k - 1]


def _key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def swept_keys(points: Sequence[list[str]]) -> list[str]:
    """The keys that take more than one value in the grid (they name the experiments)."""
    values: dict[str, set[str]] = {}
    for point in points:
        for override in point:
            key, value = _key_value(override)
            values.setdefault(key, set()).add(value)
    return [key for key, seen in values.items() if len(seen) > 1]


def experiment_name(point: Sequence[str], keys: Sequence[str]) -> str:
    """'dropout_rate-0.1-seed-84' from the swept keys' last components and values (a valid git ref name)."""
    parts = []
    for override in point:
        key, value = _key_value(override)
        if key in keys:
            parts += [key.split(".")[-1], value]
    name = "-".join(parts) or "baseline"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")


# --------------------------------------------------------------------------- git and DVC


def _run(args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(
            f"error: {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return result


def existing_experiments() -> set[str]:
    """Names of every experiment ref in this repository (any baseline), finished ones only."""
    listed = _run(["dvc", "exp", "list", "--all-commits", "--name-only"]).stdout
    return {line.strip() for line in listed.splitlines() if line.strip()}


def failure_refs() -> dict[str, str]:
    """name -> the recorded log tail, from refs/sweep-failed/*."""
    listed = _run(["git", "for-each-ref", "--format=%(refname)", FAILED_REFS]).stdout.split()
    return {
        ref.removeprefix(FAILED_REFS + "/"): _run(["git", "cat-file", "-p", ref]).stdout for ref in listed
    }


def queue(points: Sequence[list[str]], keys: Sequence[str], targets: Sequence[str]) -> None:
    done = existing_experiments()
    for point in points:
        name = experiment_name(point, keys)
        if name in done:
            print(f"sweep: {name} already ran, skipped")
            continue
        args = ["dvc", "exp", "run", "--queue", "--name", name]
        for override in point:
            args += ["-S", override]
        _run([*args, *targets])
        print(f"sweep: queued {name}")


def record(points: Sequence[list[str]], keys: Sequence[str]) -> list[str]:
    """After `dvc exp run --run-all`: a failure ref for each point of this part without an experiment.

    Returns the names that failed.
    """
    done = existing_experiments()
    failed = []
    for point in points:
        name = experiment_name(point, keys)
        ref = f"{FAILED_REFS}/{name}"
        if name in done:
            _run(["git", "update-ref", "-d", ref], check=False)
            continue
        logs = _run(["dvc", "queue", "logs", name], check=False)
        lines = (logs.stdout + logs.stderr).strip().splitlines()
        ours = [line for line in lines if line.startswith("error: ")]  # a stage's own one-line error
        tail = "\n".join(lines[-15:] + ours[-1:]) or "no log"
        blob = subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            input=f"failed: {name}\n{tail}\n",
            capture_output=True,
            text=True,
        ).stdout.strip()
        _run(["git", "update-ref", ref, blob])
        failed.append(name)
        print(f"sweep: {name} FAILED (recorded as {ref}): {tail.splitlines()[-1] if tail else ''}")
    return failed


def push(remote: str) -> None:
    _run(["dvc", "exp", "push", "--all-commits", remote])
    failures = failure_refs()
    if failures:
        _run(["git", "push", "--force", remote, f"{FAILED_REFS}/*:{FAILED_REFS}/*"])
    done = existing_experiments()
    remote_refs = _run(["git", "ls-remote", remote, f"{FAILED_REFS}/*"]).stdout.split()[1::2]
    for ref in remote_refs:
        if ref.removeprefix(FAILED_REFS + "/") in done:  # it failed once, then ran here
            _run(["git", "push", remote, "--delete", ref])
    print(
        f"sweep: pushed experiments, their cached outputs and {len(failures)} failure record(s) to {remote}"
    )


def pull(remote: str) -> None:
    _run(["dvc", "exp", "pull", "--all-commits", remote])
    _run(["git", "fetch", "--prune", remote, f"+{FAILED_REFS}/*:{FAILED_REFS}/*"])
    print(f"sweep: pulled experiments and {len(failure_refs())} failure record(s) from {remote}")


# --------------------------------------------------------------------------- the table


def _value(row: Mapping[str, Any], path: str, key: str) -> Any:
    for column in (f"{path}:{key}", key):
        if row.get(column) is not None:
            return row[column]
    return None


def table(
    rows: Sequence[Mapping[str, Any]], planned: Sequence[str] = (), failed: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per experiment in `rows` (dvc.api.exp_show's records; baselines skipped) and per planned
    name without one: status done, failed (a failure record, or DVC's own Failed state) or not run."""
    failed = failed or {}
    found: dict[str, dict[str, Any]] = {}
    for record in rows:
        name = record.get("Experiment")
        if not name or record.get("typ") == "baseline" or name in found:
            continue
        row: dict[str, Any] = {"experiment": name}
        for column, dotted in PARAMS.items():
            row[column] = record.get(dotted, record.get(f"params.yaml:{dotted}"))
        for column, (path, key, _) in METRICS.items():
            row[column] = _value(record, path, key)
        state = str(record.get("State") or "").lower()
        complete = all(row[c] is not None for c in METRICS)
        row["status"] = "failed" if state == "failed" else ("done" if complete else "incomplete")
        found[name] = row
    for name in planned:
        if name not in found:
            found[name] = {"experiment": name, "status": "failed" if name in failed else "not run"}
    for name, row in found.items():
        if row["status"] != "done" and name in failed:
            row["status"], row["error"] = "failed", failed[name].strip().splitlines()[-1][:200]
    frame = pd.DataFrame(list(found.values()), columns=["experiment", "status", *PARAMS, *METRICS, "error"])
    if frame.empty:
        return frame
    order = {name: index for index, name in enumerate(planned)}
    frame["order"] = [order.get(name, len(order)) for name in frame["experiment"]]
    return frame.sort_values(["order", "experiment"]).drop(columns="order").reset_index(drop=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    done = frame[frame["status"] == "done"].astype({c: float for c in METRICS})
    grouped = done.groupby("dropout_rate")[list(METRICS)]
    result = grouped.agg(["mean", "std"])
    result.columns = [f"{metric}_{stat}" for metric, stat in result.columns]
    result.insert(0, "seeds", done.groupby("dropout_rate")["seed"].count())
    return result.reset_index()


def markdown(frame: pd.DataFrame, stats: pd.DataFrame) -> str:
    """A short page: the settings the sweep ran with, mean ± std over seeds per rate, and what did not finish."""
    done = frame[frame["status"] == "done"]
    epochs = sorted({int(e) for e in done["epochs"].dropna()}) or ["train.epochs"]
    passes = sorted({int(p) for p in done["mc_passes"].dropna()})
    lines = [
        "# Dropout-rate sweep (DVC experiment queue)\n",
        f"{len(done)} finished experiments: dropout rates {sorted(done['dropout_rate'].unique().tolist())} x seeds "
        f"{sorted(int(s) for s in done['seed'].unique())}. Each retrains only the dropout CNN for "
        f"{', '.join(map(str, epochs))} epoch(s) (shorter than the pipeline's 16: the numbers are lower "
        f"than the main report's) and scores MC dropout with T = {', '.join(map(str, passes))} passes. "
        "Mean ± std over seeds.\n",
        "| dropout rate | seeds | " + " | ".join(METRICS[c][2] for c in TABLE_COLUMNS) + " |",
        "|---|---|" + "---|" * len(TABLE_COLUMNS),
    ]
    for _, row in stats.iterrows():
        cells = [
            f"{row[f'{c}_mean']:.4f} ± {0.0 if pd.isna(row[f'{c}_std']) else row[f'{c}_std']:.4f}"
            for c in TABLE_COLUMNS
        ]
        lines.append(f"| {row['dropout_rate']:g} | {int(row['seeds'])} | " + " | ".join(cells) + " |")
    unfinished = frame[frame["status"] != "done"]
    if len(unfinished):
        lines.append("\nNot finished:\n")
        lines += [f"- `{row['experiment']}`: {row['status']}" for _, row in unfinished.iterrows()]
    lines.append("\n![sweep](sweep.png)\n")
    return "\n".join(lines)


def plot(stats: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uncertainty.report.plots.common import save

    figure, axes = plt.subplots(1, len(FIGURE_COLUMNS), figsize=(4 * len(FIGURE_COLUMNS), 3.4))
    for axis, column in zip(axes, FIGURE_COLUMNS, strict=True):
        mean, std = stats[f"{column}_mean"], stats[f"{column}_std"].fillna(0.0)
        axis.errorbar(stats["dropout_rate"], mean, yerr=std, marker="o", capsize=3)
        axis.set_xlabel("dropout rate")
        axis.set_title(f"MC dropout: {METRICS[column][2]}")
        axis.grid(alpha=0.3)
    figure.suptitle("Dropout-rate sweep (mean ± std over seeds)")
    figure.tight_layout()
    save(figure, path)


def collect(planned: Sequence[str], out: Path) -> pd.DataFrame:
    import dvc.api

    # num=-1: experiments on every baseline commit of the branch, whichever clone ran them.
    frame = table(dvc.api.exp_show(num=-1), planned, failure_refs())
    if frame.empty or not (frame["status"] == "done").any():
        raise SystemExit("error: no finished sweep experiment found (run `make sweep`, or `make sweep-pull`)")
    stats = summary(frame)
    write_text(out / "sweep.csv", frame.to_csv(index=False, float_format="%.6g"))
    write_text(out / "summary.csv", stats.to_csv(index=False, float_format="%.6g"))
    plot(stats, out / "sweep.png")
    write_text(out / "README.md", markdown(frame, stats))
    counts = frame["status"].value_counts().to_dict()
    print(f"sweep: {len(frame)} rows ({', '.join(f'{n} {s}' for s, n in counts.items())}) -> {out}/sweep.csv")
    return frame


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "queue", "record", "push", "pull", "collect"))
    parser.add_argument("--jobs", type=int, default=1, help="queue workers (run)")
    parser.add_argument(
        "-S", "--set-param", dest="overrides", action="append", default=[], help="DVC sweep syntax"
    )
    parser.add_argument("--part", default="1/1", help="k/n: this machine's share of the grid")
    parser.add_argument("--remote", default="origin", help="git remote for push/pull")
    parser.add_argument("--out", default="reports/sweep", type=Path)
    parser.add_argument("targets", nargs="*", help="stages each experiment reproduces (queue)")
    args = parser.parse_intermixed_args(argv)
    try:
        points = grid(args.overrides)
        keys = swept_keys(points)
        mine = part(points, args.part)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command in ("run", "queue") and not mine:
        raise SystemExit(
            "error: the sweep grid is empty: give it with -S 'key=a,b,c' (SWEEP in the Makefile)"
        )
    if args.command == "run":
        queue(mine, keys, args.targets)
        # A failed experiment makes this exit non-zero; the failures are recorded just below.
        subprocess.run(["dvc", "exp", "run", "--run-all", "--jobs", str(args.jobs)])
        failed = record(mine, keys)
        collect([experiment_name(point, keys) for point in points], args.out)
        if failed:
            raise SystemExit(
                f"error: {len(failed)} experiment(s) of part {args.part} failed: {', '.join(failed)}"
            )
    elif args.command == "queue":
        queue(mine, keys, args.targets)
    elif args.command == "record":
        if record(mine, keys):
            raise SystemExit(1)
    elif args.command == "push":
        push(args.remote)
    elif args.command == "pull":
        pull(args.remote)
    else:
        collect([experiment_name(point, keys) for point in points], args.out)


if __name__ == "__main__":
    main()
