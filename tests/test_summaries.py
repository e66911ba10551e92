"""The inference stage's per-image summaries of MC passes, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from uncertainty.models.summaries import entropy, summarize_passes


def test_summaries_equal_direct_computations() -> None:
    rng = np.random.default_rng(0)
    stack = rng.dirichlet(np.ones(10) * 0.3, (30, 50)).astype(np.float32)  # (T, N, K)
    summary = summarize_passes(stack, curve_passes=(1, 5, 30, 100))
    as64 = stack.astype(np.float64)
    np.testing.assert_allclose(summary["mean"], as64.mean(0), rtol=1e-15)
    np.testing.assert_allclose(
        summary["mean_entropy"], np.mean([entropy(p) for p in as64], axis=0), rtol=1e-12
    )
    votes = stack.argmax(2)
    modal = np.array([np.bincount(votes[:, i], minlength=10).max() for i in range(50)])
    np.testing.assert_allclose(summary["variation_ratio"], 1 - modal / 30)
    top = as64.mean(0).argmax(1)
    width = [
        np.percentile(as64[:, i, top[i]], 97.5) - np.percentile(as64[:, i, top[i]], 2.5) for i in range(50)
    ]
    np.testing.assert_allclose(summary["interval_width"], width, rtol=1e-12)
    # The curve keeps the T values the passes allow: 100 > 30 is skipped.
    assert summary["curve_passes"].tolist() == [1, 5, 30]
    np.testing.assert_allclose(summary["curve_mean"][1], as64[:5].mean(0), rtol=1e-15)
    np.testing.assert_allclose(summary["curve_mean"][2], summary["mean"])
    np.testing.assert_allclose(summary["curve_mean_entropy"][0], entropy(as64[0]))


def test_one_pass_has_no_spread() -> None:
    stack = np.random.default_rng(1).dirichlet(np.ones(4), (1, 7))
    summary = summarize_passes(stack)
    np.testing.assert_allclose(summary["mean_entropy"], entropy(summary["mean"]))
    assert not summary["variation_ratio"].any() and not summary["interval_width"].any()
    assert "curve_mean" not in summary


def test_a_stack_that_is_not_three_dimensional_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="stack must be"):
        summarize_passes(np.ones((3, 4)))
