"""The sweep collector on the shape `dvc exp show --json` prints (DVC 3)."""

from __future__ import annotations

from typing import Any

import pytest

from uncertainty.sweep import markdown, summary, table


def experiment(name: str, rate: float, seed: int, accuracy: float) -> dict[str, Any]:
    params = {
        "train": {"models": {"dropout": {"dropout_rate": rate, "seed": seed, "epochs": 4}}},
        "predict": {"mc_passes": 30},
    }
    mc = {"mutual_information": {"auroc": 0.9}, "entropy": {"auroc": 0.8}}
    metrics = {
        "reports/metrics/eval.json": {
            "data": {
                "mc_dropout": {"accuracy": accuracy, "nll": 0.3, "ece": 0.02},
                "plain": {"accuracy": 0.9},
            }
        },
        "reports/metrics/ood.json": {
            "data": {"mnist": {"mc_dropout": mc}, "uniform_noise": {"mc_dropout": mc}}
        },
        "reports/metrics/train_dropout.json": {"data": {"test_accuracy": accuracy}},
    }
    return {
        "rev": name[:7],
        "name": name,
        "data": {"rev": name[:7], "params": {"params.yaml": {"data": params}}, "metrics": metrics},
    }


def shown() -> list[dict[str, Any]]:
    baseline = experiment("main", 0.1, 84, 0.91)
    baseline["experiments"] = [
        {"revs": [experiment("rate-a", 0.2, 84, 0.80)]},
        {"revs": [experiment("rate-b", 0.2, 85, 0.90)]},
        {"revs": [experiment("rate-c", 0.5, 84, 0.70)]},
        {"revs": [{"name": "failed", "data": {"params": {}, "metrics": {}}}]},  # no metrics: skipped
    ]
    return [{"rev": "workspace", "name": None, "data": baseline["data"], "experiments": None}, baseline]


def test_table_has_one_row_per_finished_experiment_and_skips_baselines() -> None:
    frame = table(shown())
    assert list(frame["experiment"]) == ["rate-a", "rate-b", "rate-c"]
    assert list(frame["dropout_rate"]) == [0.2, 0.2, 0.5]
    assert list(frame["epochs"]) == [4, 4, 4]


def test_summary_is_mean_and_std_over_seeds() -> None:
    stats = summary(table(shown()))
    row = stats[stats["dropout_rate"] == 0.2].iloc[0]
    assert row["seeds"] == 2
    assert row["accuracy_mean"] == pytest.approx(0.85)
    assert row["accuracy_std"] == pytest.approx(0.0707107, rel=1e-5)  # sample std of 0.8, 0.9
    page = markdown(table(shown()), stats)
    assert "| 0.2 | 2 | 0.8500 ± 0.0707 |" in page and "4 epoch(s)" in page


def test_empty_when_no_experiment() -> None:
    assert table([{"rev": "workspace", "data": {}, "experiments": None}]).empty
