"""The benchmark's paired speedup: geometric mean, interval and the verdict on the target."""

from __future__ import annotations

import json
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
    from uncertainty.models.cnn import build_cnn
    from uncertainty.models.runtime import seed_everything

    seed_everything(3)
    model = build_cnn(dropout_rate=0.2)
    images = np.random.default_rng(0).random((24, 28, 28, 1), dtype=np.float32)
    engine = {"chunk_passes": 4, "batch_size": 16, "jit_compile": True, "strategy": "default"}
    found = bench_engine_before_after(model, images, 9, engine, rounds=2)
    assert found["bit_identical"] and found["graph_over_sequential_speed"] > 0
    assert [len(found["seconds"][way]) for way in ("sequential_engine", "graph_engine")] == [2, 2]


def test_the_stage_table_keeps_each_stages_latest_line_slowest_first(tmp_path) -> None:
    from benchmarks.stages import stage_table

    log = tmp_path / "stages.jsonl"
    lines = [
        {"stage": "posthoc", "seconds": 300.0, "max_rss_mb": 900.0},
        {"stage": "infer plain", "seconds": 40.0, "max_rss_mb": 1500.0},
        {"stage": "posthoc", "seconds": 120.0, "max_rss_mb": 700.0},  # re-ran: this one counts
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = stage_table(log)
    assert [row["stage"] for row in table["stages"]] == ["posthoc", "infer plain"]
    assert table["stages"][0]["seconds"] == 120.0
    assert table["total_seconds"] == 160.0 and table["peak_rss_mb"] == 1500.0


def test_moved_outputs_name_the_numbers_that_moved_and_every_word_that_changed(tmp_path) -> None:
    from benchmarks.stages import compare_outputs

    before, after = tmp_path / "before", tmp_path / "after"
    for side, value, word in ((before, 0.5, "better"), (after, 0.5000001, "indistinguishable")):
        (side / "tables").mkdir(parents=True)
        (side / "tables/v.json").write_text(json.dumps({"a": {"low": value, "verdict": word}, "n": 3}))
        (side / "same.csv").write_text("x,y\n1,2\n")
    found = compare_outputs(before, after)
    assert found["identical"] == ["same.csv"]
    moved = found["differ"]["tables/v.json"]
    assert moved["numbers_moved"] == 1 and moved["largest_move"] == pytest.approx(1e-7)
    assert moved["words_changed"] == [["better", "indistinguishable"]]


def test_the_stage_log_line_names_the_stage_its_seconds_and_memory(monkeypatch) -> None:
    from stages.common import stage_record

    monkeypatch.setattr("sys.argv", ["/x/stages/infer.py", "dropout_1", "--data", "data/dataset.npz"])
    record = stage_record()
    assert record["stage"] == "infer dropout_1"
    assert 0 < record["seconds"] < 3600 and record["max_rss_mb"] > 10


def test_params_only_runs_this_trees_code_with_the_commits_params(tmp_path) -> None:
    import subprocess

    from benchmarks.stages import ROOT, tree

    before = tree(tmp_path / "before", None, "HEAD")
    shown = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=ROOT, check=True, capture_output=True)
    assert (before / "params.yaml").read_bytes() == shown.stdout  # the commit's params, not the tree's
    for code in (
        "stages/verdicts.py",
        "uncertainty/methods/calibrators.py",
    ):  # this tree's code, as it is now
        assert (before / code).read_bytes() == (ROOT / code).read_bytes()


def test_a_failing_stage_command_is_a_stage_failure_not_an_exit(tmp_path) -> None:
    import sys

    from benchmarks.stages import StageFailed, run_once

    with pytest.raises(StageFailed, match="failed in"):
        run_once([sys.executable, "-c", "raise SystemExit(3)"], [], tmp_path, tmp_path / "out")
    found = run_once([sys.executable, "-c", "pass"], [], tmp_path, tmp_path / "out")
    assert found["seconds"] > 0 and found["max_rss_mb"] > 1


def test_a_side_writes_its_outputs_and_their_folders_under_its_own_folder(tmp_path) -> None:
    from benchmarks.stages import redirect

    command = [
        "python",
        "-m",
        "stages.figures",
        "--figures-dir",
        "reports/figures",
        "--table",
        "reports/t.json",
    ]
    outputs = ["reports/figures/a.png", "reports/t.json"]
    found = redirect(command, outputs, tmp_path)
    assert found[4] == str(tmp_path / "reports/figures") and found[6] == str(tmp_path / "reports/t.json")
    assert found[:4] == command[:4] and found[5] == "--table"
