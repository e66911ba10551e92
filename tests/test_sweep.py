"""The sweep: DVC's own grid expansion, parts that cover it exactly once, the collector on exp_show's rows."""

from __future__ import annotations

from typing import Any

import pytest

from uncertainty.sweep import (
    METRICS,
    experiment_name,
    grid,
    markdown,
    parse_part,
    part,
    summary,
    swept_keys,
    table,
)

GRID = [
    "train.models.dropout.dropout_rate=0.05,0.1,0.2",
    "train.models.dropout.seed=84,85",
    "++train.models.dropout.epochs=4",
]


def test_grid_is_dvcs_expansion_and_names_are_unique() -> None:
    points = grid(GRID)
    assert len(points) == 6
    assert points[0] == [
        "train.models.dropout.dropout_rate=0.05",
        "train.models.dropout.seed=84",
        "++train.models.dropout.epochs=4",
    ]
    keys = swept_keys(points)
    assert keys == ["train.models.dropout.dropout_rate", "train.models.dropout.seed"]  # epochs is constant
    names = [experiment_name(point, keys) for point in points]
    assert names[0] == "dropout_rate-0.05-seed-84" and len(set(names)) == 6


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_parts_cover_the_grid_exactly_once(n: int) -> None:
    points = grid(GRID)
    covered = [tuple(point) for k in range(1, n + 1) for point in part(points, f"{k}/{n}")]
    assert sorted(covered) == sorted(tuple(point) for point in points)
    assert part(points, f"1/{n}") == part(grid(GRID), f"1/{n}")  # deterministic


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b", "1/0", ""])
def test_bad_part_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="SWEEP_PART must be k/n"):
        parse_part(bad)


def row(name: str, rate: float, seed: int, accuracy: float, state: str | None = None) -> dict[str, Any]:
    """A record as dvc.api.exp_show returns it (columns prefixed by file only where ambiguous); every
    metric column of the sweep is there, those the tests read with their own values."""
    others = {key: 0.5 for _, key, _ in METRICS.values()}
    return others | {
        "Experiment": name,
        "rev": name[:7],
        "typ": "branch_base",
        "State": state,
        "train.models.dropout.dropout_rate": rate,
        "train.models.dropout.seed": seed,
        "train.models.dropout.epochs": 4,
        "infer.mc_passes": 30,
        "mc_dropout.accuracy": accuracy,
        "mc_dropout.nll": 0.3,
        "mc_dropout.ece": 0.02,
        "plain.accuracy": 0.9,
        "mnist.mc_dropout.mutual_information.auroc": 0.9,
        "mnist.mc_dropout.entropy.auroc": 0.8,
        "uniform_noise.mc_dropout.mutual_information.auroc": 0.7,
        "reports/metrics/train_dropout.json:test_accuracy": accuracy,
    }


def rows() -> list[dict[str, Any]]:
    return [
        {"Experiment": None, "rev": "workspace", "typ": "baseline"},
        {"Experiment": None, "rev": "main", "typ": "baseline"},
        row("rate-a", 0.2, 84, 0.80),
        row("rate-b", 0.2, 85, 0.90),
        row("rate-c", 0.5, 84, 0.70),
        row("rate-c", 0.5, 84, 0.70),  # pulled twice (two baselines): one row
    ]


def test_table_has_one_row_per_experiment_and_skips_baselines() -> None:
    frame = table(rows())
    assert list(frame["experiment"]) == ["rate-a", "rate-b", "rate-c"]
    assert list(frame["status"]) == ["done"] * 3
    assert list(frame["dropout_rate"]) == [0.2, 0.2, 0.5] and list(frame["epochs"]) == [4, 4, 4]
    assert list(frame["train_test_accuracy"]) == [0.8, 0.9, 0.7]  # the "<file>:<key>" spelling


def test_planned_points_without_an_experiment_are_failed_or_not_run() -> None:
    failed = {
        "rate-d": "failed: rate-d\nerror: params.yaml: train.models.dropout.dropout_rate must be in [0, 1), got 1.5\n"
    }
    frame = table(rows(), planned=["rate-a", "rate-d", "rate-e", "rate-b", "rate-c"], failed=failed)
    status = dict(zip(frame["experiment"], frame["status"]))
    assert status == {
        "rate-a": "done",
        "rate-d": "failed",
        "rate-e": "not run",
        "rate-b": "done",
        "rate-c": "done",
    }
    assert list(frame["experiment"]) == ["rate-a", "rate-d", "rate-e", "rate-b", "rate-c"]  # grid order
    assert "dropout_rate must be in [0, 1)" in frame.set_index("experiment").loc["rate-d", "error"]
    page = markdown(frame, summary(frame))
    assert "`rate-d`: failed" in page and "`rate-e`: not run" in page


def test_dvcs_failed_state_counts_as_failed() -> None:
    frame = table([row("broken", 0.3, 84, 0.5, state="Failed")])
    assert list(frame["status"]) == ["failed"]


def test_summary_is_mean_and_std_over_seeds() -> None:
    stats = summary(table(rows()))
    line = stats[stats["dropout_rate"] == 0.2].iloc[0]
    assert line["seeds"] == 2
    assert line["accuracy_mean"] == pytest.approx(0.85)
    assert line["accuracy_std"] == pytest.approx(0.0707107, rel=1e-5)  # sample std of 0.8, 0.9
    page = markdown(table(rows()), stats)
    assert "| 0.2 | 2 | 0.8500 ± 0.0707 |" in page and "4 epoch(s)" in page


def test_empty_when_no_experiment() -> None:
    assert table([{"Experiment": None, "rev": "workspace", "typ": "baseline"}]).empty
