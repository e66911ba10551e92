"""Helpers for the end-to-end tests: a copy of the project in a temporary git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
PROJECT_FILES = (
    "dvc.yaml",
    "params.yaml",
    "stages",
    "uncertainty",
    "inputs",
    "examples",
    ".gitignore",
    "Makefile",
)


TOY_PREDICTOR, TOY_LABEL = "toy_twin", "toy twin of the plain CNN"


def tiny_params() -> dict[str, Any]:
    """The real params.yaml shrunk: a few hundred images, 1 epoch, 20 passes, four plain CNNs in two
    disjoint ensembles of two (so the verdicts pool all six ensembles of two)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["regression"]["epochs"] = 50
    params["prepare"]["train_limit"] = 300
    params["prepare"]["test_limit"] = 256
    params["train"]["epochs"] = 1
    params["train"]["models"] = {
        name: spec
        for name, spec in params["train"]["models"].items()
        if name in ("plain", "dropout", "ensemble_1", "dropout_1", "ensemble_2", "ensemble_3")
    }
    params["noise"]["mean_passes"] = 10
    params["mc_batch"]["passes"] = 20
    params["infer"].update(mc_passes=10, curve_passes=[1, 3, 10])
    for predictor in params["predictors"].values():  # the models kept above: four plain, two dropout
        if "models" in predictor:
            predictor["models"] = [m for m in predictor["models"] if m in params["train"]["models"]]
        if predictor["kind"] == "ensemble":
            predictor["options"]["members"] = 2
    # A predictor registered through params alone (tests/test_pipeline.py checks it reaches every output).
    params["predictors"][TOY_PREDICTOR] = {
        "label": TOY_LABEL,
        "kind": "softmax",
        "models": ["ensemble_1", "plain"],
    }
    params["verdicts"]["comparisons"].append([TOY_PREDICTOR, "plain"])
    params["prepare"]["ood_limit"] = 300
    params["ood"].update(uniform_noise=100, gaussian_noise=100)
    params["shift"].update(angles=[0, 90, 180], test_limit=128)
    params["corrupt"].update(test_limit=64, severities=[1, 3, 5])  # all fifteen corruptions, three severities
    params["verdicts"]["bootstrap"] = 200
    params["verdicts"]["ensemble_bootstrap"] = 100  # a pool reads the first rounds of the same draws
    return params


# A metric added to the copy's registry as one more entry (tests/test_pipeline.py checks it reaches every
# metrics file, the verdict table and the report).
TOY_METRIC, TOY_METRIC_LABEL = "toy_confidence", "toy mean top probability"
TOY_METRIC_ENTRY = f"""

METRICS = (
    *METRICS,
    Metric("{TOY_METRIC}", "{TOY_METRIC_LABEL}", True, "test", lambda t: _mean_of(t.mean.max(axis=1)), "eval", verdict=True),
)
BY_NAME = {{metric.name: metric for metric in METRICS}}
"""


class _Delete:
    """As a value for set_key: remove the key. Its repr is fixed, so test ids are the same in every
    pytest-xdist worker (each collects the tests itself)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def set_key(params: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set (or, with DELETE, remove) a dotted key in a params mapping, in place; returns it."""
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return params


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }


def jax_env() -> dict[str, str]:
    """`env()` with Keras on JAX and TensorFlow hidden (tests/no_tensorflow's sitecustomize), as on a
    machine without it. Processes started in the project root still import its packages from there."""
    return {**env(), "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT / "tests" / "no_tensorflow")}


def sh(
    args: list[str], cwd: Path, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def write_params(repo: Path, params: dict[str, Any]) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(directory: Path, params: dict[str, Any] | None = None) -> Path:
    """Copy the project's pipeline into `directory`, make it a git + DVC repo, commit."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, directory / name)
    write_params(directory, params or tiny_params())
    with (directory / "uncertainty" / "evaluation" / "metric_registry.py").open("a") as registry:
        registry.write(TOY_METRIC_ENTRY)
    sh(["git", "init", "-q", "-b", "main"], directory)
    sh(["dvc", "init", "-q"], directory)
    sh(["dvc", "config", "core.analytics", "false"], directory)
    sh(["dvc", "config", "core.check_update", "false"], directory)
    sh(["git", "add", "-A"], directory)
    sh(["git", "commit", "-q", "-m", "tiny pipeline"], directory)
    return directory


def dvc_outputs(repo: Path) -> list[Path]:
    """Every output path of every stage in dvc.lock (outs, metrics, plots; foreach expanded)."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return [repo / out["path"] for stage in lock["stages"].values() for out in stage.get("outs", [])]
