"""What the inference stage keeps of a CNN's outputs: per-image summaries of MC passes, entropy.

MC dropout on the test set is T = 100 passes of (N, 10) softmax outputs; the
metrics need only a few per-image numbers from them, so the inference stage
keeps these and drops the passes (numpy only, no TensorFlow, so that editing a
metric in uncertainty/evaluation/metrics.py never re-samples a pass):

* `mean` (N, K): the predictive distribution p̄ = (1/T) Σ_t p_t, in float64;
* `mean_entropy` (N,): (1/T) Σ_t H[p_t], so H[p̄] − mean_entropy is the mutual information;
* `variation_ratio` (N,): 1 − (votes for the modal class among the T per-pass argmaxes) / T;
* `interval_width` (N,): the 2.5–97.5 % percentile width, over passes, of p_t(ĉ), ĉ = argmax p̄;
* `curve_mean` (C, N, K) and `curve_mean_entropy` (C, N): the same two for the first t passes,
  for each t of `curve_passes` (quality against T).

The deep ensemble's members are summarized the same way, their stack (M, N, K) standing in for the passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.special

# The interval of the article's closing idea: the central 95 % of the passes.
INTERVAL_PERCENTILES = (2.5, 97.5)


def entropy(probs: np.ndarray) -> np.ndarray:
    """−Σ_k p_k log p_k over the last axis, in nats, with 0·log 0 = 0 (scipy's `entr`); (..., K) -> (...)."""
    return np.sum(scipy.special.entr(np.asarray(probs, dtype=np.float64)), axis=-1)


def variation_ratio(stack: np.ndarray) -> np.ndarray:
    """1 − (votes for the modal class among the per-pass argmaxes) / T; (T, N, K) -> (N,)."""
    t, _, k = stack.shape
    votes = stack.argmax(axis=2)  # (T, N)
    counts = np.stack([(votes == c).sum(axis=0) for c in range(k)], axis=1)  # (N, K)
    return 1.0 - counts.max(axis=1) / t


def interval_width(stack: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Width of the INTERVAL_PERCENTILES interval of p_t(ĉ) over passes, ĉ = argmax mean; -> (N,)."""
    n = stack.shape[1]
    top = mean.argmax(axis=1)
    top_probs = stack[:, np.arange(n), top].astype(np.float64)  # (T, N)
    low, high = np.percentile(top_probs, INTERVAL_PERCENTILES, axis=0)
    return high - low


def summarize_passes(stack: np.ndarray, curve_passes: Sequence[int] = ()) -> dict[str, np.ndarray]:
    """The per-image summaries of T passes (T, N, K) of softmax outputs (see the module docstring).

    `curve_passes` values above T are skipped (a sweep may lower T).
    """
    stack = np.asarray(stack)
    if stack.ndim != 3 or min(stack.shape) < 1:
        raise ValueError(
            f"stack must be (T passes, N images, K classes) with T, N, K >= 1; got {stack.shape}"
        )
    as64 = stack.astype(np.float64)
    mean = as64.mean(axis=0)
    per_pass_entropy = entropy(as64)  # (T, N)
    summary = {
        "mean": mean,
        "mean_entropy": per_pass_entropy.mean(axis=0),
        "variation_ratio": variation_ratio(stack),
        "interval_width": interval_width(stack, mean),
    }
    kept = [t for t in curve_passes if t <= len(stack)]
    if kept:
        summary["curve_passes"] = np.asarray(kept, dtype=np.int64)
        summary["curve_mean"] = np.stack([as64[:t].mean(axis=0) for t in kept])
        summary["curve_mean_entropy"] = np.stack([per_pass_entropy[:t].mean(axis=0) for t in kept])
    return summary
