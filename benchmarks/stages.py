"""Stage times and memory: the stage log of the last `make report`, and stages side by side with a commit.

    python -m benchmarks.stages                       # reports/machine/stages.jsonl -> reports/stage_times.json
    python -m benchmarks.stages --log runs/mnist/reports/machine/stages.jsonl --output runs/mnist/reports/stage_times.json
    python -m benchmarks.stages --against a8315ff posthoc verdicts infer@plain   # -> reports/stage_speed.json
    python -m benchmarks.stages --against d4dc85c --params-only posthoc verdicts   # what new entries cost

The table: every stage's wall seconds (its process, imports included) and peak resident memory as the
stage log recorded them (stages.common: `make report` and `make run` write it), the latest line per
stage, slowest first, with the total and the peak.

--against REV: each named stage's command, read from dvc.yaml through DVC's own API, runs with this
working tree's code and with REV's (`git archive`), on the same inputs (this workspace's data, models
and reports), each writing its outputs into a folder of its own; the two alternate over --rounds
rounds (the order reversed every other round), so a slow spell of the machine does not land on one
side only. With --params-only both sides run this tree's code, the "before" side with REV's params.yaml:
what the params entries added since REV (a predictor, a comparison) cost, the code's other changes apart.
Each side reads this workspace's inputs, so a stage that reads what earlier stages wrote for the other
params (the report, reading every metric) can fail on the before side: a failed stage is recorded as
such and the others still run. Per side: the best wall seconds and the peak resident memory (the process's own, from
wait4); per output file, whether the two are byte-identical, and for JSON and CSV files that are not,
how many numbers moved and by how much at most, and every word that changed (a verdict word
moving would show here). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from uncertainty.core.io import write_json
from uncertainty.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
CODE = ("stages", "uncertainty", "params.yaml")  # what a stage runs; the rest is read from this workspace
INPUTS = ("data", "models", "inputs", "reports")


# --------------------------------------------------------------------------- the stage log's table


def stage_table(log: Path) -> dict[str, Any]:
    """The latest line per stage of a stage log, slowest first, with the total seconds and the peak memory."""
    latest: dict[str, dict[str, Any]] = {}
    for line in log.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            latest[record["stage"]] = record
    rows = sorted(latest.values(), key=lambda r: -r["seconds"])
    return {
        "machine": machine_info(),
        "log": str(log.relative_to(ROOT) if log.is_relative_to(ROOT) else log),
        "stages": rows,
        "total_seconds": round(sum(r["seconds"] for r in rows), 1),
        "peak_rss_mb": max((r["max_rss_mb"] for r in rows), default=0.0),
    }


# --------------------------------------------------------------------------- a stage side by side


def stage_commands(names: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (the stage's command as arguments, its output paths), from dvc.yaml as DVC resolves it."""
    from dvc.repo import Repo

    found = {}
    with Repo(str(ROOT)) as repo:
        for stage in repo.index.stages:
            if stage.addressing in names:
                found[stage.addressing] = (shlex.split(stage.cmd), [str(out.def_path) for out in stage.outs])
    missing = [name for name in names if name not in found]
    if missing:
        raise SystemExit(f"no such stage in dvc.yaml: {', '.join(missing)}")
    return found


def tree(where: Path, revision: str | None, params_of: str | None = None) -> Path:
    """A folder holding the code of `revision` (None: this working tree) and links to this workspace's inputs;
    `params_of`: a commit whose params.yaml replaces this tree's (with this tree's code)."""
    where.mkdir(parents=True)
    if revision is None:
        for name in CODE:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, where / name)
        if params_of is not None:
            shown = subprocess.run(
                ["git", "show", f"{params_of}:params.yaml"], cwd=ROOT, check=True, capture_output=True
            )
            (where / "params.yaml").write_bytes(shown.stdout)
    else:
        archive = subprocess.run(
            ["git", "archive", revision, "stages", "uncertainty"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
        shutil.copy2(ROOT / "params.yaml", where / "params.yaml")  # the same params on both sides
    for name in INPUTS:
        (where / name).symlink_to(ROOT / name)
    return where


def redirect(command: list[str], outputs: list[str], into: Path) -> list[str]:
    """The command with each output path, and each folder that holds outputs (a figures stage takes the folder
    its files go in), moved under `into`: a side never writes into this workspace."""

    def holds_outputs(argument: str) -> bool:
        return argument in outputs or any(out.startswith(argument.rstrip("/") + "/") for out in outputs)

    return [str(into / a) if holds_outputs(a) else a for a in command]


class StageFailed(RuntimeError):
    """A stage's command exited non-zero on one side: recorded, and the other stages still run."""


def run_once(command: list[str], outputs: list[str], code: Path, into: Path) -> dict[str, float]:
    """The stage's command in `code`, its outputs redirected into `into`: wall seconds and peak RSS (MB)."""
    if into.exists():
        shutil.rmtree(into)
    arguments = redirect(command, outputs, into)
    for out in outputs:
        (into / out).parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "PYTHONPATH": str(code), "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("UNCERTAINTY_STAGE_LOG", None)
    started = time.perf_counter()
    process = subprocess.Popen(arguments, cwd=code, env=environment, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise StageFailed(f"{' '.join(command[:3])} failed in {code}")
    return {"seconds": round(seconds, 2), "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def files(path: Path) -> dict[str, Path]:
    return (
        {str(f.relative_to(path)): f for f in sorted(path.rglob("*")) if f.is_file()} if path.is_dir() else {}
    )


def leaves(text: str, suffix: str) -> list[Any]:
    """Every value of a JSON document, or every cell of a CSV, in order."""
    if suffix == ".csv":
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in sorted(node):
                walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)
        else:
            found.append(node)

    walk(json.loads(text))
    return found


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def moved(before: Path, after: Path) -> dict[str, Any]:
    """How two versions of a JSON or CSV file differ: numbers moved (count, largest move) and words changed."""
    a, b = leaves(before.read_text(), before.suffix), leaves(after.read_text(), after.suffix)
    if len(a) != len(b):
        return {"same_shape": False, "values_before": len(a), "values_after": len(b)}
    numbers, words = [], []
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        nx, ny = number(x), number(y)
        if nx is not None and ny is not None:
            numbers.append(abs(nx - ny))
        else:
            words.append([x, y])
    return {"same_shape": True, "numbers_moved": len(numbers), "largest_move": max(numbers, default=0.0),
            "words_changed": words}  # fmt: skip


def compare_outputs(before: Path, after: Path) -> dict[str, Any]:
    """Per output file: identical, or how it moved (JSON, CSV), or only that it differs."""
    old, new = files(before), files(after)
    report: dict[str, Any] = {"identical": [], "differ": {}, "only_before": sorted(set(old) - set(new)),
                              "only_after": sorted(set(new) - set(old))}  # fmt: skip
    for name in sorted(set(old) & set(new)):
        if old[name].read_bytes() == new[name].read_bytes():
            report["identical"].append(name)
        elif old[name].suffix in (".json", ".csv"):
            report["differ"][name] = moved(old[name], new[name])
        else:
            report["differ"][name] = "bytes differ"
    return report


def side_by_side(revision: str, names: list[str], rounds: int, params_only: bool = False) -> dict[str, Any]:
    commands = stage_commands(names)
    record: dict[str, Any] = {
        "machine": machine_info(), "against": revision, "params_only": params_only, "rounds": rounds, "stages": {},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="stages-") as scratch:
        base = Path(scratch)
        before = tree(base / "before", None, revision) if params_only else tree(base / "before", revision)
        code = {"before": before, "after": tree(base / "after", None)}
        for name, (command, outputs) in commands.items():
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            try:
                for round_ in range(rounds):
                    for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                        print(f"{name}: {side}, round {round_ + 1} of {rounds}", flush=True)
                        runs[side].append(run_once(command, outputs, code[side], base / "out" / side / name))
            except (
                StageFailed
            ) as failure:  # e.g. with --params-only, a stage reading metrics of the other params
                print(failure, flush=True)
                record["stages"][name] = {"failed": str(failure).replace(scratch, "<scratch>")}
                continue
            best = {side: min(r["seconds"] for r in found) for side, found in runs.items()}
            record["stages"][name] = {
                "runs": runs,
                "best_seconds": best,
                "speedup": round(best["before"] / best["after"], 2),
                "max_rss_mb": {side: max(r["max_rss_mb"] for r in found) for side, found in runs.items()},
                "outputs": compare_outputs(base / "out" / "before" / name, base / "out" / "after" / name),
            }
            summary = record["stages"][name]
            print(f"{name}: {best['before']:.1f} s -> {best['after']:.1f} s ({summary['speedup']}x), "
                  f"RSS {summary['max_rss_mb']['before']:.0f} -> {summary['max_rss_mb']['after']:.0f} MB", flush=True)  # fmt: skip
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "stages", nargs="*", help="with --against: the stages to run both ways (dvc.yaml names)"
    )
    parser.add_argument("--against", metavar="REV", help="the commit whose code runs beside this tree's")
    parser.add_argument(
        "--params-only", action="store_true", help="both sides this tree's code; before: REV's params.yaml"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each side, alternating")
    parser.add_argument("--log", type=Path, default=ROOT / "reports/machine/stages.jsonl")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.against:
        if not args.stages:
            raise SystemExit("--against needs the stages to run, e.g. posthoc verdicts")
        output = args.output or ROOT / "reports/stage_speed.json"
        write_json(output, side_by_side(args.against, args.stages, args.rounds, args.params_only))
    else:
        if not args.log.exists():
            raise SystemExit(f"{args.log}: no stage log; make report writes it")
        output = args.output or ROOT / "reports/stage_times.json"
        table = stage_table(args.log.resolve())
        write_json(output, table)
        for row in table["stages"]:
            print(f"{row['stage']:<40} {row['seconds']:>8.1f} s {row['max_rss_mb']:>8.0f} MB")
        print(f"{'total':<40} {table['total_seconds']:>8.1f} s {table['peak_rss_mb']:>8.0f} MB (peak)")
    print(f"-> {output}")


if __name__ == "__main__":
    main()
