"""The benchmark's paired speedup: geometric mean, interval and the verdict on the target."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.bench import speedup_interval


def test_speedup_interval_is_the_geometric_mean_with_a_t_interval_on_logarithms() -> None:
    result = speedup_interval([20.0, 30.0, 25.0], [10.0, 10.0, 10.0], target=2.0)
    assert result["ratios"] == [2.0, 3.0, 2.5]
    assert result["geometric_mean"] == pytest.approx(math.exp(np.mean(np.log([2.0, 3.0, 2.5]))))
    # t(0.975, 2 degrees of freedom) = 4.3027: the interval of the log-ratios' mean, exponentiated.
    logs = np.log([2.0, 3.0, 2.5])
    half = 4.302653 * logs.std(ddof=1) / math.sqrt(3)
    assert result["low"] == pytest.approx(math.exp(logs.mean() - half), rel=1e-6)
    assert result["high"] == pytest.approx(math.exp(logs.mean() + half), rel=1e-6)
    assert result["target"] == "undecided"  # the interval, about [1.49, 4.08], holds 2


@pytest.mark.parametrize(
    ("rates", "verdict"),
    [
        ([21.0, 22.0, 20.5, 21.5], "reached"),  # every ratio above 2, tightly
        ([17.0, 18.0, 17.5, 16.5], "missed"),  # every ratio below 2, tightly
        ([15.0, 25.0, 18.0, 24.0], "undecided"),  # spread across 2
    ],
)
def test_speedup_interval_verdict_on_the_target(rates: list[float], verdict: str) -> None:
    result = speedup_interval(rates, [10.0] * len(rates), target=2.0)
    assert result["target"] == verdict
    assert result["low"] <= result["geometric_mean"] <= result["high"]


def test_a_pair_with_no_spread_is_its_own_ratio_and_reaches_it() -> None:
    result = speedup_interval([30.0, 30.0], [15.0, 15.0], target=2.0)
    assert result["low"] == result["high"] == pytest.approx(2.0)
    assert result["target"] == "reached"


def test_the_graph_engine_gives_the_sequential_engines_passes_bit_for_bit() -> None:
    """The benchmark's baseline (the Sequential-only engine) and the graph engine on the article's CNN."""
    from benchmarks.bench import bench_engine_before_after
    from uncertainty.cnn import build_cnn
    from uncertainty.runtime import seed_everything

    seed_everything(3)
    model = build_cnn(dropout_rate=0.2)
    images = np.random.default_rng(0).random((24, 28, 28, 1), dtype=np.float32)
    engine = {"chunk_passes": 4, "batch_size": 16, "jit_compile": True, "strategy": "default"}
    found = bench_engine_before_after(model, images, 9, engine, rounds=2)
    assert found["bit_identical"] and found["graph_over_sequential_speed"] > 0
    assert [len(found["seconds"][way]) for way in ("sequential_engine", "graph_engine")] == [2, 2]
