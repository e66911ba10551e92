"""The pipeline on JAX beside the shared tiny run on TensorFlow (tiny_repo): the same trained models give
the same verdict words.

The tiny run's CNNs, trained on TensorFlow, are run again by the infer stage on JAX (TensorFlow hidden,
as on a machine without it), and every stage after inference follows. Inference agrees across the
backends to 2e-5 in probability (tests/test_backends.py), so a verdict word may move only where an
interval ends at zero to that order: WORD_MARGIN, 1e-4, five times that, on differences of metrics
between 0 and 1. Measured on an AVX-512 EPYC: 1091 of 1093 words the same; the two others (the
centred Laplace against the plain CNN on the MNIST digits' AUROC) have TensorFlow's interval starting
at 2e-6 and JAX's at -1.9e-5. (tests/test_backends.py runs the tiny pipeline whole on JAX, training
included; with weights drawn from each backend's own generator those are other trainings, so only
their shape is compared there.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.pipeline import jax_env

WORD_MARGIN = 1e-4


def verdicts(repo: Path) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every verdict of reports/tables/verdicts.json by its path (predictor, against, metric, ...)."""

    def leaves(node: Any, path: tuple[str, ...]) -> Any:
        if isinstance(node, dict) and isinstance(node.get("verdict"), str):
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, (*path, key))

    return dict(leaves(json.loads((repo / "reports/tables/verdicts.json").read_text()), ()))


def near_zero(entry: dict[str, Any]) -> bool:
    return min(abs(entry["low"]), abs(entry["high"])) <= WORD_MARGIN


def test_the_same_models_on_jax_give_tensorflows_verdict_words(tiny_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "jax"
    shutil.copytree(tiny_repo, repo, symlinks=True)
    environment = jax_env()
    stages = [
        name
        for name in yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
        if name.startswith("infer@")
    ]
    assert len(stages) == 6
    for stage in stages:  # inference again, on JAX, from the committed (TensorFlow-trained) models
        command = ["dvc", "repro", "--force", "--single-item", stage]
        result = subprocess.run(
            command, cwd=repo, env=environment, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stderr[-3000:]
    # The verdicts and what they read (the figures and the report need nothing of this comparison).
    result = subprocess.run(
        ["dvc", "repro", "verdicts"], cwd=repo, env=environment, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Running stage 'verdicts'" in result.stdout  # the new inference outputs reached the verdicts
    assert "Running stage 'train@" not in result.stdout  # the same models
    machine = json.loads((repo / "reports/machine/infer_plain.json").read_text())["machine"]
    assert machine["keras_backend"].startswith("jax ")

    ours, theirs = verdicts(tiny_repo), verdicts(repo)
    assert ours.keys() == theirs.keys() and len(ours) > 500
    moved = [path for path in ours if ours[path]["verdict"] != theirs[path]["verdict"]]
    assert all(near_zero(ours[path]) or near_zero(theirs[path]) for path in moved), [
        (path, ours[path], theirs[path])
        for path in moved
        if not (near_zero(ours[path]) or near_zero(theirs[path]))
    ]
    assert len(moved) <= len(ours) // 100, moved  # a few, at most, sit that close to zero
