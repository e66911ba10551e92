"""End to end: the real `dvc repro` on tiny params in a temporary git repo."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

from tests.pipeline import TOY_LABEL, TOY_METRIC, TOY_METRIC_LABEL, TOY_PREDICTOR, dvc_outputs, sh
from uncertainty.core.vocabulary import ood_sets

pytestmark = pytest.mark.e2e


@pytest.fixture
def repo(tiny_repo: Path) -> Path:
    return tiny_repo


def _leaves(value: object) -> list[float]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value] if isinstance(value, (int, float)) else []


def test_every_declared_output_exists(repo: Path) -> None:
    outputs = dvc_outputs(repo)
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert {
        "check_params",
        "regression",
        "train@plain",
        "train@dropout",
        "train@ensemble_1",
        "report",
    } <= set(stages)
    missing = [str(path) for path in outputs if not path.exists()]
    assert outputs and not missing, missing


def test_metrics_are_finite_and_readable_by_dvc(repo: Path) -> None:
    files = sorted((repo / "reports/metrics").glob("*.json"))
    names = {path.stem for path in files}
    assert {"regression", "train_plain", "train_dropout", "noise", "mc_batch"} <= names
    for path in files:
        leaves = _leaves(json.loads(path.read_text()))
        assert leaves and all(math.isfinite(v) for v in leaves), path
    shown = json.loads(sh(["dvc", "metrics", "show", "--json"], repo).stdout)
    flat = json.dumps(shown)
    assert "test_accuracy" in flat and "accuracy_mc_median" in flat and "pred_at_15" in flat


def test_metrics_follow_the_spec(repo: Path) -> None:
    plain = json.loads((repo / "reports/metrics/train_plain.json").read_text())
    noise = json.loads((repo / "reports/metrics/noise.json").read_text())
    batch = json.loads((repo / "reports/metrics/mc_batch.json").read_text())
    assert plain["params"] == 114954
    assert noise["plain_repeat_max_abs_diff"] == 0.0  # deterministic model
    assert noise["dropout_single_pass_std"] > 0.0  # dropout passes differ
    assert batch["passes"] == 20


def test_second_repro_does_nothing(repo: Path) -> None:
    status = sh(["dvc", "status"], repo).stdout
    assert "up to date" in status, status


def test_report_mentions_the_article(repo: Path) -> None:
    report = (repo / "reports/report.md").read_text()
    assert "31.22" in report and "0.875" in report and "0.867" in report
    for image in (repo / "reports/figures").rglob("*.png"):
        assert f"figures/{image.relative_to(repo / 'reports/figures')}" in report, image


def test_a_predictor_registered_in_params_alone_reaches_every_output(repo: Path) -> None:
    """tests/pipeline.py adds a toy predictor and one comparison to params.yaml, nothing else."""

    def read(name: str) -> dict:  # the full table where there is one, else the metrics file
        table = repo / "reports/tables" / f"{name}.json"
        return json.loads(
            (table if table.is_file() else repo / "reports/metrics" / f"{name}.json").read_text()
        )

    for name in ("eval", "selective", "shift", "temperature", "per_seed", "seeds", "conformal"):
        assert TOY_PREDICTOR in read(name), name
    assert all(TOY_PREDICTOR in read("ood")[set_name] for set_name in ood_sets())
    assert read("verdicts")[TOY_PREDICTOR]["plain"]["nll"]["verdict"] in (
        "better",
        "worse",
        "indistinguishable",
    )
    assert list(read("per_seed")[TOY_PREDICTOR]) == ["ensemble_1", "plain"]
    # the ensemble of two disjoint groups is judged over all six ensembles of two its four trainings form
    assert sorted(read("per_seed")["ensemble"]) == ["ensemble_2+ensemble_3", "plain+ensemble_1"]
    pooled = read("seeds")["ensemble"]["accuracy"]
    assert (pooled["seeds"], pooled["subsets"], pooled["disjoint"]["seeds"]) == (4, 6, 2)
    for directory in ("reliability", "shift"):
        assert (repo / "reports/plots" / directory / f"{TOY_PREDICTOR}.csv").is_file()
    assert (repo / "reports/plots/roc/mnist" / f"{TOY_PREDICTOR}.entropy.csv").is_file()
    report = (repo / "reports/report.md").read_text()
    beyond, verdicts = report.split("## Beyond the article")[1].split("## Verdicts that hold up")
    for section in (beyond, verdicts):
        assert f"| {TOY_LABEL}" in section  # a row of its own in the section's tables
    assert f"| {TOY_LABEL} − plain CNN" in verdicts  # its row group in the verdict table


def test_a_metric_added_as_one_registry_entry_reaches_every_output(repo: Path) -> None:
    """tests/pipeline.py appends one Metric to the copy's uncertainty/evaluation/metric_registry.py, nothing else."""

    def read(name: str) -> dict:  # the full table where there is one, else the metrics file
        table = repo / "reports/tables" / f"{name}.json"
        return json.loads(
            (table if table.is_file() else repo / "reports/metrics" / f"{name}.json").read_text()
        )

    predictors = read("eval")
    assert all(TOY_METRIC in values for values in predictors.values())
    for name in ("seeds", "verdicts"):
        assert all(TOY_METRIC in json.dumps(values) for values in read(name).values()), name
        metrics_file = json.loads((repo / "reports/metrics" / f"{name}.json").read_text())
        assert all(TOY_METRIC in json.dumps(values) for values in metrics_file.values()), (
            name
        )  # a verdict row
    assert all(TOY_METRIC in instance for values in read("per_seed").values() for instance in values.values())
    report = (repo / "reports/report.md").read_text()
    beyond, verdicts = report.split("## Beyond the article")[1].split("## Verdicts that hold up")
    header = next(line for line in beyond.splitlines() if re.match(r"\| predictor +\|", line))
    assert f"| {TOY_METRIC_LABEL} " in header  # a column of the whole-test-set table
    assert f"| {TOY_METRIC_LABEL} " in verdicts  # rows of the verdict table
