"""The expected metric of an ensemble of M CNNs, from n >= M trainings: every subset of M is an ensemble.

Split n trainings into n / M disjoint ensembles and the training level of an interval has n / M − 1
degrees of freedom (1 for 10 trainings in ensembles of 5: a t quantile of 12.7). The same trainings
make C(n, M) ensembles. The mean of the metric over all of them is a U-statistic of the trainings:
unbiased for the expected metric of an ensemble of M, and the mean over disjoint ensembles averaged
over every way of splitting, so never more variable than it. Each ensemble is a column of a table
(rounds + 1, subsets) like those of uncertainty.evaluation.statistics: row 0 on all test images, then the
image-bootstrap rounds, the same resampled images for every ensemble.

The training level is the jackknife over trainings: leave training i out, U₋ᵢ is the mean over the
subsets without it, and var = (n − 1)/n Σᵢ (U₋ᵢ − Ū)². Hoeffding's first-order term M²ζ₁/n is the
same number once ζ₁ is estimated right: with Aᵢ the mean over the subsets holding i,
U₋ᵢ − U = M (U − Aᵢ)/(n − M), so the jackknife is M²/n · ζ̂₁ with ζ̂₁ = (n − 1)/(n − M)² Σᵢ (Aᵢ − U)².
The plain spread of the Aᵢ (ζ₁ by Σ(Aᵢ − U)²/(n − 1)) is too small by (n − M)²/(n − 1)² = 0.31 at
n = 10, M = 5, since each Aᵢ shares its other members with the rest (it covered 0.90 in the
simulation below). The jackknife also keeps the higher-order terms the first-order term drops (they
matter at M/n = 1/2), on the high side (Efron and Stein, 1981): the part of order c (c trainings
together) c(n − 1)/(n − c) times, 2.25 for pairs at n = 10. For a metric linear in the members it
is s²/n exactly, the seed level of uncertainty.evaluation.statistics.

Degrees of freedom n − 1. In the simulation of tests/test_subsets.py (an OOD AUROC of ensembles of 5
of 10 trainings, 3,000 experiments at each of two training spreads) the jackknife varies over
experiments like a χ² with 4 to 10 degrees of freedom, and where the trainings dominate the
interval's variance is ~30 % above the U-statistic's mean squared error; with n − 1 the two cancel:
the interval covers 0.951 and 0.958 at a nominal 0.95 (two disjoint ensembles: 0.948 and 0.887). An
unbiased variance (U² less the mean product over disjoint subsets) with n − 1 degrees of freedom
covers only 0.91 where the trainings dominate. Against the members' mean (u_compare
"shared_subsets") the first-order part cancels, the overcounted part weighs more, and the interval
is conservative there: 0.948 and 0.971.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from uncertainty.evaluation import statistics

DESIGNS = ("independent", "shared_subsets")


def member_subsets(n: int, m: int, limit: int, seed: int) -> np.ndarray:
    """The ensembles to evaluate: (subsets, m) training indices in range(n), each row ascending.

    All C(n, m) combinations in lexicographic order when there are at most `limit` (C(10, 5) = 252);
    otherwise `limit` distinct ones drawn uniformly by a generator seeded with `seed` (the same draw
    for every predictor and stage), sorted. The mean over a uniform draw is still unbiased, but each
    leave-one-out mean of the jackknife carries the draw's noise: 60 of 252 made it ~20 % larger in
    the simulation, while the U-statistic's error barely grew. Draw only when all are too many.
    """
    if n < 1 or not 1 <= m <= n:
        raise ValueError(f"need 1 <= m <= n trainings, got m={m}, n={n}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    total = math.comb(n, m)
    if total <= limit:
        return np.array(list(itertools.combinations(range(n), m)), dtype=np.int64).reshape(total, m)
    rng = np.random.default_rng(seed)
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < limit:
        chosen.add(tuple(sorted(rng.choice(n, m, replace=False).tolist())))
    return np.array(sorted(chosen), dtype=np.int64)


def left_out_means(table: np.ndarray, subsets: np.ndarray, n: int) -> np.ndarray:
    """(rows, n): in each row of `table`, the mean over the subsets (columns) without training i."""
    table, subsets = np.asarray(table, dtype=np.float64), np.asarray(subsets)
    if table.ndim != 2 or subsets.ndim != 2 or table.shape[1] != len(subsets):
        raise ValueError(f"table {table.shape} needs one column per subset of {subsets.shape}")
    if n < 2 or subsets.min() < 0 or subsets.max() >= n:
        raise ValueError(f"subsets must hold training indices in range({n}), n >= 2")
    without = np.ones((len(subsets), n), dtype=bool)
    np.put_along_axis(without, subsets, False, axis=1)
    counts = without.sum(axis=0)
    if (counts == 0).any():
        raise ValueError(f"trainings {np.flatnonzero(counts == 0).tolist()} are in every subset")
    return table @ (without / counts)


def u_table_terms(table: np.ndarray, subsets: np.ndarray, n: int) -> tuple[float, int, float]:
    """The training level of the U-statistic from its table (rounds + 1, subsets), as statistics.seed_terms:
    (the jackknife variance over trainings, its degrees of freedom n − 1, the overlap).

    Row 0's jackknife also holds the image noise that differs between trainings, which the image
    bootstrap of the mean over subsets holds again. The overlap is that noise as the bootstrap sees
    it: the jackknife's sum of squares over each leave-one-out mean's variance across the rounds (for
    a metric linear in the members, exactly seed_terms' overlap). One subset: the images alone count.
    """
    if len(table) < 3:
        raise ValueError(f"table needs row 0 and at least 2 rounds, got {len(table)} rows")
    if len(subsets) < 2:
        return 0.0, 1, 0.0
    left_out = left_out_means(table, subsets, n)
    spread = left_out - left_out.mean(axis=1, keepdims=True)
    variance = (n - 1) / n * float((spread[0] ** 2).sum())
    overlap = (n - 1) / n * float(spread[1:].var(axis=0, ddof=1).sum())
    return variance, n - 1, overlap


def u_summarize(
    table: np.ndarray, subsets: np.ndarray, n: int, confidence: float, bounds: statistics.Bounds | None = None
) -> dict[str, Any]:
    """The U-statistic (mean over the subsets' ensembles) and its interval over trainings and images,
    clipped to `bounds` (the metric's range) where given, as statistics.summarize's."""
    mean = float(table[0].mean())
    found = statistics.interval(mean, table[1:].mean(axis=1), [u_table_terms(table, subsets, n)], confidence)
    summary = {"mean": mean, "low": found["low"], "high": found["high"], "seeds": n, "subsets": len(subsets)}
    return statistics.clip(summary, bounds)


def u_compare(
    table_a: np.ndarray,
    subsets_a: np.ndarray | None,
    table_b: np.ndarray,
    subsets_b: np.ndarray | None,
    n: int,
    higher_is_better: bool,
    confidence: float,
    paired_design: str,
) -> dict[str, float | str]:
    """Difference A − B of the U-statistics, its interval over trainings and images, p-value and verdict.

    A side with subsets None is an ordinary seeds table (rounds + 1, S), one column per training.
    paired_design "independent": A and B are other trainings, so their training levels add (each side
    its jackknife, or seed_terms for a seeds table). "shared_subsets": A is an ensemble over `subsets_a`
    of the n trainings and B either the single models of those trainings (subsets_b None, table_b
    (rounds + 1, n)), taken per subset as the mean of its members, or an ensemble over the same
    subsets (e.g. A temperature-scaled); the jackknife is then of the per-subset difference, where
    what the trainings share cancels. Both sides saw the same image resamples either way.
    """
    if paired_design not in DESIGNS:
        raise ValueError(f"paired_design must be one of {DESIGNS}, got {paired_design!r}")

    def terms(table: np.ndarray, subsets: np.ndarray | None) -> tuple[float, int, float]:
        return statistics.seed_terms(table) if subsets is None else u_table_terms(table, subsets, n)

    if paired_design == "independent":
        difference = float(table_a[0].mean() - table_b[0].mean())
        rounds = table_a[1:].mean(axis=1) - table_b[1:].mean(axis=1)
        sides = [terms(table_a, subsets_a), terms(table_b, subsets_b)]
    else:
        if subsets_a is None:
            raise ValueError("shared_subsets needs A's subsets")
        if subsets_b is None:
            if table_b.shape[1] != n:
                raise ValueError(f"B's table needs one column per training ({n}), got {table_b.shape[1]}")
            table_b = table_b[:, subsets_a].mean(axis=2)
        elif not np.array_equal(subsets_a, subsets_b):
            raise ValueError("shared_subsets needs the same subsets on both sides")
        paired = table_a - table_b
        difference, rounds = float(paired[0].mean()), paired[1:].mean(axis=1)
        sides = [u_table_terms(paired, subsets_a, n)]
    return statistics.difference_verdict(difference, rounds, sides, higher_is_better, confidence)
