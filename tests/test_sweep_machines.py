"""A sweep split over three machines through shared git and DVC remotes, end to end.

One bare git repository and one DVC remote (local directories) stand for the shared
servers. Clones A and B each run their half of a grid with `make sweep SWEEP_PART=k/2`
and `make sweep-push`; clone C runs `make sweep-pull` and `make sweep-collect`. The grid
has a point that fails (dropout rate 1.5 fails params validation) in each half, and A runs
its half twice: the collected table must have every point exactly once, two done and two
failed, and DVC's own diffs must compare experiments that ran on different clones.
These are exactly the README's commands ("On more machines").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline import VENV_BIN, sh

pytestmark = pytest.mark.e2e

SWEEP = (
    "SWEEP=-S 'train.models.dropout.dropout_rate=0.2,1.5' -S 'train.models.dropout.seed=84,85' "
    "-S '++train.models.dropout.epochs=1' -S 'infer.mc_passes=5'"
)
VENV = f"VENV={VENV_BIN.parent}"
DONE = ("dropout_rate-0.2-seed-84", "dropout_rate-0.2-seed-85")
FAILED = ("dropout_rate-1.5-seed-84", "dropout_rate-1.5-seed-85")


def make(repo: Path, *args: str, check: bool = True) -> str:
    result = sh(["make", "--no-print-directory", *args, VENV, SWEEP], repo, check=check, timeout=1800)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def servers(tiny_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shared git and DVC remotes, holding the tiny pipeline's baseline commit and its outputs."""
    root = tmp_path_factory.mktemp("machines")
    origin, store = root / "origin.git", root / "dvc-store"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], root)
    seed = root / "seed"
    shutil.copytree(tiny_repo, seed, ignore=shutil.ignore_patterns("tmp"))
    sh(["dvc", "remote", "add", "-d", "shared", str(store)], seed)
    sh(["git", "add", "-A"], seed)
    sh(["git", "commit", "-q", "-m", "baseline: the tiny pipeline, reproduced"], seed)
    sh(["dvc", "push"], seed)
    sh(["git", "remote", "add", "origin", str(origin)], seed)
    sh(["git", "push", "-q", "origin", "main"], seed)
    return {"root": root, "origin": origin}


def machine(servers: dict[str, Path], name: str) -> Path:
    clone = servers["root"] / name
    sh(["git", "clone", "-q", str(servers["origin"]), str(clone)], servers["root"])
    sh(["dvc", "pull"], clone)
    return clone


@pytest.fixture(scope="module")
def collected(servers: dict[str, Path]) -> tuple[Path, pd.DataFrame, dict[str, str]]:
    logs = {}
    a, b = machine(servers, "a"), machine(servers, "b")
    logs["a"] = make(a, "sweep", "SWEEP_PART=1/2", check=False)
    logs["b"] = make(b, "sweep", "SWEEP_PART=2/2", check=False)
    logs["a_again"] = make(a, "sweep", "SWEEP_PART=1/2", check=False)  # interrupted or repeated work
    logs["a_status"] = sh(["dvc", "status"], a).stdout  # experiments ran beside the workspace, not in it
    for clone in (a, b):
        make(clone, "sweep-push")
    c = machine(servers, "c")
    make(c, "sweep-pull")
    logs["c"] = make(c, "sweep-collect")
    return c, pd.read_csv(c / "reports/sweep/sweep.csv"), logs


def test_each_clone_ran_only_its_half(collected: tuple[Path, pd.DataFrame, dict[str, str]]) -> None:
    _, _, logs = collected
    assert "queued dropout_rate-0.2-seed-84" in logs["a"] and "queued dropout_rate-1.5-seed-84" in logs["a"]
    assert "queued dropout_rate-0.2-seed-85" in logs["b"] and "queued dropout_rate-1.5-seed-85" in logs["b"]
    assert "queued dropout_rate-0.2-seed-84" not in logs["b"]
    assert (
        "1 experiment(s) of part 1/2 failed" in logs["a"]
        and "1 experiment(s) of part 2/2 failed" in logs["b"]
    )


def test_a_repeated_part_skips_what_ran_and_retries_what_failed(
    collected: tuple[Path, pd.DataFrame, dict[str, str]],
) -> None:
    _, _, logs = collected
    assert "dropout_rate-0.2-seed-84 already ran, skipped" in logs["a_again"]
    assert "queued dropout_rate-1.5-seed-84" in logs["a_again"]


def test_the_third_clone_collects_every_point_once_with_failures_named(
    collected: tuple[Path, pd.DataFrame, dict[str, str]],
) -> None:
    _, table, _ = collected
    assert sorted(table["experiment"]) == sorted(DONE + FAILED)  # every point, exactly once
    status = dict(zip(table["experiment"], table["status"]))
    assert {name: status[name] for name in DONE} == dict.fromkeys(DONE, "done")
    assert {name: status[name] for name in FAILED} == dict.fromkeys(FAILED, "failed")
    done = table.set_index("experiment").loc[list(DONE)]
    assert list(done["seed"]) == [84, 85] and list(done["dropout_rate"]) == [0.2, 0.2]
    assert done["accuracy"].notna().all() and done["auroc_mnist_mutual_information"].notna().all()
    assert done["accuracy"].between(0.0, 1.0).all()
    c, _, logs = collected
    assert (c / "reports/sweep/sweep.png").read_bytes().startswith(b"\x89PNG")  # the figure beside the table
    assert "up to date" in logs["a_status"]  # a clone's workspace is untouched by the experiments it ran
    errors = table.set_index("experiment").loc[list(FAILED), "error"]
    assert errors.str.len().gt(0).all(), errors


def test_dvc_diffs_compare_experiments_from_different_clones(
    collected: tuple[Path, pd.DataFrame, dict[str, str]],
) -> None:
    c, _, _ = collected
    params = json.loads(sh(["dvc", "params", "diff", *DONE, "--json"], c).stdout)["params.yaml"]
    assert params["train.models.dropout.seed"] == {"old": 84, "new": 85, "diff": 1}
    assert "train.models.dropout.dropout_rate" not in params  # the same in both
    diff = json.loads(sh(["dvc", "exp", "diff", *DONE, "--json"], c).stdout)
    assert "train.models.dropout.seed" in diff["params"]["params.yaml"]
    changed = diff["metrics"]["reports/metrics/eval.json"]
    assert (
        "mc_dropout.accuracy" in changed and "plain.accuracy" not in changed
    )  # only the dropout CNN changed
