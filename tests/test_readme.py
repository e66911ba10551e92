"""README.md opens with the committed run's answer: the table uncertainty.report.readme makes from summary.json."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from uncertainty.evaluation.statistics import WORDS
from uncertainty.report import readme

ROOT = Path(__file__).resolve().parents[1]
BETTER, _, UNDECIDED = WORDS["comparison"]


def committed_table(text: str) -> str:
    """What README.md holds between the markers, blank lines around it stripped."""
    assert text.count(readme.START) == 1 and text.count(readme.END) == 1
    return text.split(readme.START, 1)[1].split(readme.END, 1)[0].strip("\n")


def test_the_readme_table_is_the_committed_summary() -> None:
    """README.md's table is what summary.json gives today: editing either alone fails here."""
    text = (ROOT / "README.md").read_text()
    assert committed_table(text) == readme.answer(ROOT), "run `make readme`"
    assert readme.with_table(text, readme.answer(ROOT)) == text  # nothing else around the markers changes
    assert readme.main(["--check"]) == 0


def test_the_table_has_one_row_per_job_of_the_summary() -> None:
    summary = yaml.safe_load((ROOT / readme.SUMMARY).read_text())  # JSON is YAML
    lines = readme.answer(ROOT).splitlines()
    assert len(lines) == 2 + len(summary["jobs"]) > 2
    assert all(line.count(" | ") == 3 for line in lines)  # four cells: no label broke the table


def test_a_decided_and_an_undecided_job_read_as_in_the_report() -> None:
    """The report summary's records (uncertainty.report.summary.summary's `jobs`) -> the README's rows."""
    jobs = [
        {"job": "accuracy", "best": "deep ensemble", "verdict": BETTER,
         "found": {"difference": 0.01238, "low": 0.010834, "high": 0.013926},
         "runner_up": {"label": "plain CNN + vector scaling"}},
        {"job": "calibration: ECE", "best": "plain CNN + vector scaling", "verdict": f"{UNDECIDED} (within ±0.0019)",
         "found": {"difference": -0.001078, "low": -0.002931, "high": 0.000776},
         "runner_up": {"label": "MC dropout + temperature"}},
        {"job": "speed", "best": "KNN", "verdict": None, "found": None, "runner_up": None},
    ]  # fmt: skip
    assert [readme.row(job) for job in jobs] == [
        ["accuracy", "**deep ensemble**", "+0.0124 [0.0108, 0.0139] over plain CNN + vector scaling", f"**{BETTER}**"],
        ["calibration: ECE", "**plain CNN + vector scaling**", "-0.0011 [-0.0029, 0.0008] over MC dropout + temperature",
         f"**{UNDECIDED} (within ±0.0019)**"],
        ["speed", "**KNN**", "– (no other method measured)", "–"],
    ]  # fmt: skip
    lines = readme.table(jobs[:1], confidence=0.9).splitlines()
    assert lines[0] == "| job | use | its margin over the next best (90 % interval) | verdict |"
    assert lines[2].startswith("| accuracy | **deep ensemble** | +0.0124 [0.0108, 0.0139] over ")
    assert len(lines) == 3


def test_the_rows_are_the_report_summary_table_s() -> None:
    """Each README row names the job, method and verdict the report's summary table names."""
    report = (ROOT / "reports" / "report.md").read_text()
    for line in readme.answer(ROOT).splitlines()[2:]:
        job, best, _, verdict = (cell.strip() for cell in line.strip("|").split(" | "))
        assert f"| {job} " in report and best in report and verdict in report, line


def test_check_fails_on_a_stale_table_in_one_line_and_the_command_mends_it(tmp_path, capsys) -> None:
    for name in ("README.md", readme.PARAMS, readme.DATASET_INFO):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for directory in readme.READS:
        shutil.copytree(ROOT / directory, tmp_path / directory)
    text = (tmp_path / "README.md").read_text()
    stale = text.replace("| accuracy | **", "| accuracy | **plain CNN + ", 1)
    assert stale != text
    (tmp_path / "README.md").write_text(stale)
    assert readme.main(["--check", "--root", str(tmp_path)]) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "make readme" in message
    assert (tmp_path / "README.md").read_text() == stale  # --check writes nothing
    assert readme.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").read_text() == text
    assert readme.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "README.md").write_text(text.replace(readme.END, ""))  # a README without its markers
    assert readme.main(["--check", "--root", str(tmp_path)]) == 1


def test_the_readme_opens_with_at_most_five_lines_then_the_table() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 220
    assert lines[0].startswith("# ")
    start = lines.index(readme.START)
    prose = [line for line in lines[1:start] if line.strip()]
    assert 0 < len(prose) <= 5, prose
    assert not any(line.startswith("#") for line in prose)  # no section before the table
    end = lines.index(readme.END)
    assert lines[start + 2].startswith("| job | use |") and start < end
    after = [line for line in lines[end + 1 :] if line.strip()]
    assert after[1] == "## Quick path"  # the reliability figure, then the Quick path as before
