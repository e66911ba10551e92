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
    assert "<title>Uncertainty of 9 models on MNIST digits" in page and "Fashion-MNIST test images" in page
    assert "The CNNs on MNIST digits" not in page  # the article's sections are its run's alone


DIGITS = (
    ROOT / "runs" / "digits_bn"
)  # one model trained elsewhere (examples/functional_bn.py), nothing trained


def test_the_one_model_run_is_what_runs_new_writes() -> None:
    """runs/digits_bn/params.yaml is `python -m uncertainty.runs new digits_bn --model inputs/digits_bn.keras
    --source mnist` on the project's params.yaml: a change to either shows here."""
    from uncertainty.runs import dropout_rate, one_model_params

    project = yaml.safe_load((ROOT / "params.yaml").read_text())
    rate = dropout_rate(str(ROOT / "inputs" / "digits_bn.keras"))
    expected = one_model_params(
        project, "digits_bn", "inputs/digits_bn.keras", rate, {"source": "mnist", "file": ""}
    )
    assert yaml.safe_load((DIGITS / "params.yaml").read_text()) == expected
    assert rate == 0.2 and expected["infer"]["also_without_dropout"] == ["digits_bn"]
    assert (
        "ensemble" not in expected["predictors"] and expected["predictors"]["plain"]["label"] == "digits_bn"
    )


def test_the_one_model_runs_committed_results_judge_every_method_it_allows() -> None:
    per_seed = json.loads((DIGITS / "reports" / "tables" / "per_seed.json").read_text())
    assert set(per_seed) == set(yaml.safe_load((DIGITS / "params.yaml").read_text())["predictors"])
    assert json.loads((DIGITS / "reports" / "machine" / "train_digits_bn.json").read_text())["epochs"] == 0
    health = json.loads((DIGITS / "reports" / "metrics" / "health.json").read_text())["digits_bn"]
    assert health["problems"] == [] and health["batch_norm"]
    assert json.loads((DIGITS / "reports" / "metrics" / "noise.json").read_text())["skipped"]
    page = (DIGITS / "reports" / "index.html").read_text()
    assert "<title>Uncertainty of digits_bn on MNIST digits" in page
    assert "every interval covers the test images only" in page and "Three regressors" not in page


SAVED = ROOT / "runs" / "mlp_digits"


def test_the_saved_predictions_run_is_what_runs_new_writes() -> None:
    """runs/mlp_digits/params.yaml is `python -m uncertainty.runs new mlp_digits --predictions
    inputs/mlp_digits.npz` on the project's params.yaml (examples/saved_predictions.py wrote the file)."""
    from uncertainty.data.predictions import check, read
    from uncertainty.runs import saved_params

    project = yaml.safe_load((ROOT / "params.yaml").read_text())
    saved = check(read(ROOT / "inputs" / "mlp_digits.npz"), "inputs/mlp_digits.npz")
    expected = saved_params(project, "mlp_digits", "inputs/mlp_digits.npz", saved)
    assert yaml.safe_load((SAVED / "params.yaml").read_text()) == expected
    assert len(expected["train"]["saved"]) == 6 and expected["train"]["models"] == {}


def test_the_saved_predictions_runs_committed_results_judge_every_method_the_keys_allow() -> None:
    """Six trainings with features and the last layer, rotated images, no MC passes, no corrupted images:
    every kind but MC dropout judged over the trainings, and the report names what was not run."""
    params = yaml.safe_load((SAVED / "params.yaml").read_text())
    per_seed = json.loads((SAVED / "reports" / "tables" / "per_seed.json").read_text())
    assert set(per_seed) == set(params["predictors"]) and "mc_dropout" not in per_seed
    assert {"ensemble", "laplace", "knn", "vim", "rmds", "feature_density", "plain_energy"} <= set(per_seed)
    assert all(len(rows) == 6 for name, rows in per_seed.items() if not name.startswith("ensemble"))
    info = json.loads((SAVED / "data" / "dataset.json").read_text())
    assert (
        info["source"] == "predictions"
        and info["noise"] is False
        and list(info["ood"])
        == [
            "digits_5_to_9",
            "uniform_noise",
        ]
    )
    assert set(info["saved"]["not_run"]) == {"MC dropout", "dataset shift by corruption"}
    page = (SAVED / "reports" / "index.html").read_text()
    assert "<title>Uncertainty of 6 models on mlp_digits" in page
    assert "MC dropout (needs MC passes: test_mc_logits" in page and "no model runs here" in page
    assert json.loads((SAVED / "reports" / "tables" / "corruption.json").read_text()) == {}
