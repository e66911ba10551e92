"""Comparing runs: metrics/params diffs between two commits (a sweep through DVC's queue, split over
machines and collected, is tests/test_sweep_machines.py)."""

from __future__ import annotations

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
