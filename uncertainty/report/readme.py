"""README.md opens with the committed run's answer: which method to use for which job, as a table made
from the report summary's own records (uncertainty.report.summary.summary over reports/metrics/) and written
between two marker comments.

`python -m uncertainty.report.readme` rewrites the table (`make readme`); `--check` exits 1 where README.md's
table is not the one the metrics give (tests/test_readme.py checks the same). Every word is the report's:
the job's, the predictors' labels, the difference and its interval as the report's "difference_interval4"
cell, the verdict as its verdict cell.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from uncertainty.core.params import read_params
from uncertainty.core.schema.params import SECTIONS
from uncertainty.core.vocabulary import use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.report.formats import cell
from uncertainty.report.page import results
from uncertainty.report.summary import summary

ROOT = Path(__file__).resolve().parents[2]
README = "README.md"
SUMMARY = "reports/metrics/summary.json"  # the verdicts stage's summary: the jobs
READS = (
    "reports/metrics",
    "reports/tables",
)  # as the report stage: the metrics, and the full tables where there is one
PARAMS = "params.yaml"
DATASET_INFO = "data/dataset.json"  # the prepare stage's description: the data's own OOD sets
START = "<!-- answer:start: `make readme` writes this table from reports/metrics/summary.json -->"
END = "<!-- answer:end -->"


def row(job: Mapping[str, Any]) -> list[str]:
    """A record of the report summary's `jobs` -> job, the method to use, its margin over the next best
    ('+0.0124 [0.0108, 0.0139] over plain CNN + vector scaling'), the verdict."""
    margin = (
        f"{cell(job['found'], 'difference_interval4')} over {job['runner_up']['label']}"
        if job["found"]
        else "– (no other method measured)"
    )
    return [job["job"], cell(job["best"], "bold"), margin, cell(job["verdict"], "bold")]


def table(jobs: Sequence[Mapping[str, Any]], confidence: float = 0.95) -> str:
    """The GitHub pipe table of one `row` per job (a "|" in a cell escaped)."""
    header = ["job", "use", f"its margin over the next best ({100 * confidence:.0f} % interval)", "verdict"]
    lines = [header, ["---"] * len(header), *(row(job) for job in jobs)]
    return "\n".join("| " + " | ".join(c.replace("|", r"\|") for c in line) + " |" for line in lines)


def answer(root: Path = ROOT) -> str:
    """The table from `root`'s metrics, params.yaml and the data's description, as the report stage reads them."""
    params = read_params(SECTIONS, root / PARAMS)  # every section, as the report stage reads them
    info = root / DATASET_INFO
    if info.is_file():  # the data's own OOD sets name the detecting job, as in the report stage
        use_data_sets(*read_info(info).input_sets)
    metrics = results(*(root / directory for directory in READS))
    return table(summary(metrics, params, {})["jobs"], params.verdicts.confidence)


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
