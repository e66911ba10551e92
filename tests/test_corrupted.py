"""The metrics under corruption against the registry's own kernels, the shift sets' image draws, the claim."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from uncertainty.core.errors import PipelineError
from uncertainty.evaluation import corrupted, statistics
from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation.claims import CLAIMS

P = SimpleNamespace(corruptions=["a", "b", "c"], severities=[1, 3, 5], verdict_severities=[3, 5])


def _outputs(seed: int = 0, n: int = 80, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(P.corruptions) * len(P.severities), n, k)) * 3
    mean = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    return mean, rng.integers(0, k, n)


def test_each_mean_over_corruptions_is_the_mean_of_the_registrys_own_kernel():
    mean, labels = _outputs()
    assert set(corrupted.MEAN_OVER_CORRUPTIONS) == {m.name for m in registry.METRICS if m.shift}
    found = corrupted.kernels({"mean": mean}, labels, 15, P)
    weights = np.random.default_rng(3).integers(0, 3, len(labels)).astype(float)  # a bootstrap round's counts
    for severity in P.severities:
        rows = corrupted.rows_at(P, severity)
        assert [corrupted.conditions(P)[r][1] for r in rows] == [severity] * 3
        for name in corrupted.MEAN_OVER_CORRUPTIONS:
            expected = np.mean([
                registry.kernels({"test": {"mean": mean[r]}}.__getitem__, labels, (), 15, (),
                                 chosen=lambda m, name=name: m.name == name)[(name,)]({"test": weights})
                for r in rows
            ])  # fmt: skip
            got = found[(registry.CORRUPTED, name, str(severity))]({corrupted.SET: weights})
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_paths_under_corruption_read_as_their_metric():
    path = (registry.CORRUPTED, "ece", "3")
    assert registry.metric_of(path).name == "ece" and not registry.higher_is_better(path)
    assert registry.label(path) == "ECE, corrupted (severity 3)"
    rows = registry.verdict_paths(("mnist",), [3, 5])
    assert rows[: len(registry.verdict_paths(("mnist",)))] == registry.verdict_paths(("mnist",))
    assert rows[-6:] == tuple(
        (registry.CORRUPTED, m, s) for m in ("accuracy", "nll", "ece") for s in ("3", "5")
    )


def test_a_shift_set_moves_no_other_sets_image_draws():
    sizes = {"test": 50, "mnist": 30}
    before = statistics.weight_matrices(sizes, 20, 9)
    after = statistics.weight_matrices(sizes, 20, 9, {corrupted.SET: 12})
    assert all(np.array_equal(before[s], after[s]) for s in sizes)
    drawn = after[corrupted.SET]
    assert drawn.shape == (21, 12) and np.all(drawn[0] == 1) and np.all(drawn.sum(axis=1) == 12)
    assert not np.array_equal(drawn[1], drawn[2])


def test_a_stale_corrupted_file_is_named():
    arrays = {
        "corruption": np.array(["a", "a", "a", "b", "b", "b", "c", "c", "c"]),
        "severity": np.array([1, 3, 5] * 3),
    }
    corrupted.check_layout(arrays, P, "x.npz")
    with pytest.raises(PipelineError, match="x.npz: its corrupted rows"):
        corrupted.check_layout({**arrays, "severity": np.array([1, 3, 4] * 3)}, P, "x.npz")


def _row(difference: float, half: float = 0.01) -> dict[str, float | str]:
    low, high = difference - half, difference + half
    verdict = "better" if high < 0 else "worse" if low > 0 else "indistinguishable"  # ECE: lower is better
    return {"difference": difference, "low": low, "high": high, "verdict": verdict}


@pytest.mark.parametrize(
    ("ensemble_gap", "ts_gain", "expected"),
    [
        (-0.05, +0.03, "held"),
        (+0.05, +0.03, "contradicted"),
        (-0.05, -0.03, "contradicted"),
        (-0.05, 0.0, "undecided"),
    ],
)
def test_the_claim_under_shift_is_three_way(ensemble_gap, ts_gain, expected):
    spec = lambda kind, of=None: SimpleNamespace(kind=kind, of=of, label=kind)  # noqa: E731
    params = SimpleNamespace(
        predictors={"plain": spec("softmax"), "ensemble": spec("ensemble"), "plain_ts": spec("temperature", "plain"),
                    "ensemble_ts": spec("temperature", "ensemble"), "density": spec("feature_density")},
        verdicts=SimpleNamespace(comparisons=[["ensemble", "plain"], ["plain_ts", "plain"], ["ensemble_ts", "ensemble"], ["plain_ts", "ensemble"], ["density", "ensemble"]]),
        corrupt=SimpleNamespace(verdict_severities=[3]),
    )  # fmt: skip
    under = lambda row: {"ece": _row(-0.02), "corrupted": {"ece": {"3": row}}}  # noqa: E731
    verdicts = {
        "ensemble": {"plain": under(_row(ensemble_gap))},
        "plain_ts": {"plain": under(_row(ts_gain)), "ensemble": under(_row(-ensemble_gap + 0.01))},
        "ensemble_ts": {"ensemble": under(_row(+0.5))},  # its own scaled self: not a rival
        # a score-only twin of the plain CNN: the ensemble − plain row turned round, left out as a repeat
        "density": {
            "ensemble": under({k: -v if k != "verdict" else v for k, v in _row(ensemble_gap).items()})
        },
    }
    claim = CLAIMS["ensemble_calibration_holds_under_shift"]
    found = claim.decide({"verdicts": verdicts}, params)
    assert found["verdict"] == expected
    assert set(found["3"]["ensemble_against"]) == {"plain", "plain_ts"}
    assert claim.evidence(found, params)
