"""README.md opens with the committed run's answer: which method to use for which job, as a table made
from reports/metrics/summary.json (the verdicts stage's summary) and written between two marker comments.

`python -m uncertainty.report.readme` rewrites the table (`make readme`); `--check` exits 1 where README.md's
table is not the one summary.json gives (tests/test_readme.py checks the same).

The words are the report summary's (uncertainty.report.summary): the predictors' labels from
params.yaml, the OOD set's words from uncertainty.core.vocabulary (after the data's own sets, as the report
stage sets them), each job's words those of uncertainty.evaluation.metric_registry.jobs, the difference and its
interval as the report's "difference_interval4" cell and the verdict as its verdict cell. The registry
imports numpy and scikit-learn, which this module must not (it reads three small files), so `jobs` below
repeats its words, and tests/test_readme.py keeps the two equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from uncertainty.core.vocabulary import INPUT_SETS, first_ood, use_data_sets

ROOT = Path(__file__).resolve().parents[2]
README = "README.md"
SUMMARY = "reports/metrics/summary.json"
PARAMS = "params.yaml"
DATASET_INFO = "data/dataset.json"  # the prepare stage's description: the data's own OOD sets
START = "<!-- answer:start: `make readme` writes this table from reports/metrics/summary.json -->"
END = "<!-- answer:end -->"


def jobs(severities: Sequence[int] = ()) -> list[tuple[str, str]]:
    """(key, words) of each job in the report's order: uncertainty.evaluation.metric_registry.jobs, numpy-free."""
    ood = first_ood()
    return [
        ("accuracy", "accuracy"),
        ("calibration_nll", "calibration: NLL"),
        ("calibration_ece", "calibration: ECE"),
        (f"detecting_{ood}", f"detecting {INPUT_SETS[ood].words} (out of distribution)"),
        ("refusing_uncertain_inputs", "refusing uncertain inputs (flagging its own errors)"),
        *((f"calibration_ece_corrupted_{s}", f"calibration under corruption: ECE, severity {s}") for s in severities),
    ]  # fmt: skip


def margin(job: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """'+0.0124 [0.0108, 0.0139] over plain CNN + vector scaling': best − runner-up with its interval."""
    if not job.get("runner_up"):
        return "– (no other method measured)"
    runner_up = job["runner_up"]["predictor"]
    found = f"{job['difference']:+.4f} [{job['low']:.4f}, {job['high']:.4f}]"
    return f"{found} over {labels.get(runner_up, runner_up)}"


def verdict(job: Mapping[str, Any]) -> str:
    """The verdict word, bold; an undecided one (its interval holds 0) with how close it could tell."""
    if not job.get("verdict"):
        return "–"
    undecided = (
        job["low"] <= 0 <= job["high"]
    )  # uncertainty.evaluation.statistics.word: decided only where 0 is outside
    return f"**{job['verdict']}" + (f" (within ±{job['half_width']:.4f})" if undecided else "") + "**"


def rows(
    summary: Mapping[str, Any], labels: Mapping[str, str], severities: Sequence[int] = ()
) -> list[list[str]]:
    """One row per job of summary.json, in the report's order (a job the report does not know: after them,
    under its key): job, the method to use, its margin over the next best, the verdict."""
    found = summary.get("jobs", {})
    words = dict(jobs(severities))
    order = [k for k in words if k in found] + [k for k in found if k not in words]
    best = {k: found[k]["best"]["predictor"] for k in order}
    return [
        [words.get(k, k), f"**{labels.get(best[k], best[k])}**", margin(found[k], labels), verdict(found[k])]
        for k in order
    ]


def table(
    summary: Mapping[str, Any],
    labels: Mapping[str, str],
    severities: Sequence[int] = (),
    confidence: float = 0.95,
) -> str:
    """The GitHub pipe table of `rows` (a "|" in a cell escaped)."""
    header = ["job", "use", f"its margin over the next best ({100 * confidence:.0f} % interval)", "verdict"]
    lines = [header, ["---"] * len(header), *rows(summary, labels, severities)]
    return "\n".join("| " + " | ".join(c.replace("|", r"\|") for c in line) + " |" for line in lines)


def answer(root: Path = ROOT) -> str:
    """The table from `root`'s summary.json, params.yaml and the data's description."""
    params = yaml.safe_load((root / PARAMS).read_text())
    summary = json.loads((root / SUMMARY).read_text())
    info = root / DATASET_INFO
    if info.is_file():  # the data's own OOD sets name the detecting job, as in the report stage
        use_data_sets(json.loads(info.read_text())["ood"])
    labels = {name: spec["label"] for name, spec in params["predictors"].items()}
    severities = params.get("corrupt", {}).get("verdict_severities", [])
    return table(summary, labels, severities, params["verdicts"]["confidence"])


def with_table(text: str, generated: str) -> str:
    """README text with the block between START and END replaced by the generated table."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{README} needs one line {START!r} and, after it, one line {END!r}")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n\n{generated}\n\n{END}{after}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 where README.md's table is stale; write nothing"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    path = args.root / README
    text = path.read_text()
    try:
        new = with_table(text, answer(args.root))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    if args.check:
        if new != text:
            print(f"{path}: the answer table differs from {SUMMARY}; run `make readme`", file=sys.stderr)
            return 1
        return 0
    if new != text:
        path.write_text(new)
        print(f"{path}: answer table rewritten from {SUMMARY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
