"""runs/mnist: the second data set's pipeline, the project's own through links, with its own params.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from uncertainty.config import CheckedParams

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "runs" / "mnist"
# What the mnist run may set apart from the project's params.yaml (its comment header says why).
CHANGED = (
    "prepare.source", "prepare.ood_limit", "train.epochs", "train.models", "ood.uniform_noise",
    "ood.gaussian_noise", "shift.test_limit", "corrupt.test_limit", "predictors.*.models",
    "predictors.ensemble.options.members", "verdicts.ensemble_subsets",
)  # fmt: skip


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if (
        isinstance(tree, dict) and prefix.rstrip(".") != "train.models"
    ):  # the models: one entry, compared whole
        return {k: v for key, value in tree.items() for k, v in flat(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): tree}


def allowed(key: str) -> bool:
    parts = key.split(".")
    return any(
        len(pattern.split(".")) == len(parts)
        and all(p in ("*", part) for p, part in zip(pattern.split("."), parts, strict=True))
        for pattern in CHANGED
    )


def test_the_run_differs_from_the_project_only_where_its_header_says() -> None:
    ours, project = (flat(yaml.safe_load(p.read_text())) for p in (RUN / "params.yaml", ROOT / "params.yaml"))
    assert set(ours) == set(project)
    differing = sorted(key for key in ours if ours[key] != project[key])
    assert differing and all(allowed(key) for key in differing), [k for k in differing if not allowed(k)]


def test_the_run_is_valid_and_uses_the_projects_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(RUN)  # train.builder's file, as the stages see it
    CheckedParams.model_validate(yaml.safe_load((RUN / "params.yaml").read_text()))
    for name in ("dvc.yaml", "stages", "uncertainty", "examples", "inputs"):
        link = RUN / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve(), name


def test_its_committed_results_are_the_digits_against_fashion_mnist() -> None:
    info = json.loads((RUN / "data" / "dataset.json").read_text())
    assert info["source"] == "mnist" and list(info["ood"]) == ["fashion_mnist"]
    ood = json.loads((RUN / "reports" / "metrics" / "ood.json").read_text())
    assert set(ood) == {"fashion_mnist", "uniform_noise", "gaussian_noise"}
    page = (RUN / "reports" / "index.html").read_text()
    assert "The CNNs on MNIST digits" in page and "Fashion-MNIST test images" in page
