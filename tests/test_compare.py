"""Comparing runs: metrics/params diffs between two commits, and a tiny sweep through DVC's queue."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.pipeline import sh, write_params

pytestmark = pytest.mark.e2e


def commit_all(repo: Path, message: str) -> None:
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "--allow-empty", "-m", message], repo)


@pytest.fixture(scope="module")
def repo(tiny_repo: Path):
    """The tiny repo with its reproduced state committed; put back as it was afterwards."""
    commit_all(tiny_repo, "tiny pipeline reproduced")
    base = sh(["git", "rev-parse", "HEAD"], tiny_repo).stdout.strip()
    yield tiny_repo
    sh(["git", "checkout", "-q", base, "--", "params.yaml"], tiny_repo)
    sh(["dvc", "repro"], tiny_repo)
    commit_all(tiny_repo, "back to the base params")
    assert "up to date" in sh(["dvc", "status"], tiny_repo).stdout


def test_metrics_and_params_diff_between_two_commits(repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["mc_batch"]["passes"] += 5
    write_params(repo, params)
    sh(["dvc", "repro"], repo)
    commit_all(repo, "more MC passes on the batch")

    changed = json.loads(sh(["dvc", "params", "diff", "HEAD~1", "--json"], repo).stdout)
    new = params["mc_batch"]["passes"]
    assert changed == {"params.yaml": {"mc_batch.passes": {"old": new - 5, "new": new, "diff": 5}}}
    diff = json.loads(sh(["dvc", "metrics", "diff", "HEAD~1", "--json"], repo).stdout)
    assert set(diff) == {"reports/metrics/mc_batch.json"}, diff  # nothing else moved
    entries = diff["reports/metrics/mc_batch.json"]
    assert entries["passes"]["diff"] == 5
    assert all(entry["old"] != entry["new"] for entry in entries.values())  # only what changed is listed
    assert "accuracy_plain" not in entries  # the plain model did not change


def test_tiny_sweep_through_the_queue(repo: Path, tmp_path: Path) -> None:
    for rate in (0.2, 0.4):
        sh(
            [
                "dvc", "exp", "run", "--queue", "--name", f"rate-{rate}",
                "-S", f"train.models.dropout.dropout_rate={rate}",
                "-S", "++train.models.dropout.epochs=1",  # ++: add the key or override it
                "evaluate",
            ],
            repo,
        )  # fmt: skip
    sh(["dvc", "exp", "run", "--run-all", "-j", "1"], repo, timeout=1200)
    out = tmp_path / "sweep"
    sh(["python", "-m", "uncertainty.sweep", "collect", "--out", str(out)], repo)
    with (out / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(float(row["dropout_rate"]) for row in rows) == [0.2, 0.4]
    assert all(0.0 <= float(row["accuracy"]) <= 1.0 for row in rows)
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "up to date" in sh(["dvc", "status"], repo).stdout  # the workspace was not touched
