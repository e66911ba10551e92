"""The statistics every verdict uses, written once: the image bootstrap's weight draws, the interval
over seeds and images, the word an interval earns, the best and the runner-up, and multiplicity.

Verdicts (uncertainty.evaluation.verdicts), claims, conformal sets (uncertainty.evaluation.coverage) and the benchmarks
all call these; none of them knows which metric it is given (the caller says which direction is
better, and the range of its values).

The interval of a statistic, or of the difference between two predictors, covers both sources of
chance. The images: B bootstrap rounds resample them (weights, the seeds fixed), and the variance
of the statistic over the rounds is the image level. The seeds: the variance of the per-seed
values divided by their number, with S − 1 degrees of freedom (a percentile bootstrap over 3 to 10
seeds covers far less than it says: 83 % at a nominal 95 % with 5 seeds). The two are added (less
the seed × image part both contain) and the interval is Student-t with Satterthwaite's degrees of
freedom, so it is the t-interval when the seeds dominate and the normal one when the images do
(tests/test_verdicts.py simulates its coverage). With one training (the ensemble) only the images
count.

An interval of a statistic never leaves the statistic's range (accuracy, ECE, AUROC, a coverage in
[0, 1]), which each metric declares with the metric (uncertainty.evaluation.metric_registry's `bounds`, the
conformal sets' in uncertainty.evaluation.coverage): an end beyond it is clipped to the range and the summary is
marked `"clipped": True`. Clipping never lowers the coverage: the true
value lies in the range, so the clipped interval contains it whenever the unclipped one does (and
it is only shorter). A summary with no end out of range is left exactly as it was, unmarked.
Differences A − B are not clipped: a metric in [lowest, highest] differs by at most highest − lowest
either way, a range their intervals practically never reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import scipy.stats

Bounds = tuple[float, float]  # the range a statistic's values lie in: (lowest, highest)

# The words an interval of a difference earns: (it supports the good sign, the bad sign, neither).
WORDS = {
    "comparison": ("better", "worse", "indistinguishable"),  # A − B in the verdict table
    "claim": ("held", "contradicted", "undecided"),  # a claim about the sign of a difference
    "target": ("reached", "missed", "undecided"),  # a benchmark's speed-up against its target
}


def word(
    low: float, high: float, positive_is_good: bool = True, words: str = "comparison", at_least: bool = False
) -> str:
    """The word for an interval [low, high] of a difference: decided only where it excludes 0.

    at_least: the question is "at least 0?" (a target met exactly counts as reached), so low = 0 decides.
    """
    good, bad, neither = WORDS[words]
    above = low > 0 or (at_least and low >= 0)
    if above or high < 0:
        return good if above == positive_is_good else bad
    return neither


# --------------------------------------------------------------------------- the image bootstrap


def weight_rounds(
    sizes: Mapping[str, int], rounds: int, seed: int, shift_sizes: Mapping[str, int] | None = None
) -> Iterator[dict[str, np.ndarray]]:
    """Round 0: every image once; then `rounds` resamples, each one weight vector per set (the counts
    of a resample with replacement), drawn round by round in `sizes`' set order from one generator,
    so every predictor, metric and stage sees the same resampled images (the comparisons are paired).
    `shift_sizes` (the clean images under a shift set's conditions) draw from a second generator
    ([seed, 1]), so a shift set added or resized moves no other set's draws."""
    rng, shift_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    shift_sizes = shift_sizes or {}
    yield {s: np.ones(n) for s, n in {**sizes, **shift_sizes}.items()}
    for _ in range(rounds):
        drawn = {
            s: np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64) for s, n in sizes.items()
        }
        yield drawn | {
            s: np.bincount(shift_rng.integers(0, n, n), minlength=n).astype(np.float64)
            for s, n in shift_sizes.items()
        }


def weight_blocks(
    sizes: Mapping[str, int],
    rounds: int,
    seed: int,
    shift_sizes: Mapping[str, int] | None = None,
    block: int = 16,
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """`weight_rounds`' resamples (round 0 left out) in blocks of at most `block` rounds: (their rounds,
    set -> (rounds in the block, N_set)), the same draws in the same order; a block keeps a set of
    10,000 images at 1.3 MB, so a kernel's intermediates stay in the cache."""
    draws = weight_rounds(sizes, rounds, seed, shift_sizes)
    next(draws)  # round 0: every image once
    for start in range(1, rounds + 1, block):
        stop = min(start + block, rounds + 1)
        drawn = [next(draws) for _ in range(start, stop)]
        yield slice(start, stop), {s: np.vstack([w[s] for w in drawn]) for s in drawn[0]}


def weight_matrices(
    sizes: Mapping[str, int], rounds: int, seed: int, shift_sizes: Mapping[str, int] | None = None
) -> dict[str, np.ndarray]:
    """`weight_rounds` stacked: set -> (rounds + 1, N_set), row 0 all ones."""
    every = list(weight_rounds(sizes, rounds, seed, shift_sizes))
    return {s: np.vstack([w[s] for w in every]) for s in every[0]}


# --------------------------------------------------------------------------- intervals


def clip(
    summary: dict[str, Any], bounds: Bounds | None, ends: Sequence[str] = ("low", "high")
) -> dict[str, Any]:
    """`summary` with its interval `ends` moved into `bounds` (in place), marked `"clipped": True` where
    one moved; untouched (unmarked, the same values) where none was out of range or bounds is None."""
    if bounds is None:
        return summary
    lowest, highest = bounds
    moved = False
    for end in ends:
        if end not in summary:
            continue
        if summary[end] < lowest:
            summary[end], moved = float(lowest), True
        elif summary[end] > highest:
            summary[end], moved = float(highest), True
    if moved:
        summary["clipped"] = True
    return summary


def t_interval(
    values: Sequence[float], confidence: float = 0.95, bounds: Bounds | None = None
) -> dict[str, Any]:
    """Mean, sample std (ddof=1) and the two-sided Student-t interval of the mean of `values`, clipped to
    `bounds` (the statistic's range) where given (module docstring)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"values must be a 1-D sequence of at least 2 numbers, got shape {x.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean, std = float(x.mean()), float(x.std(ddof=1))
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * std / np.sqrt(len(x))
    return clip({"mean": mean, "std": std, "low": mean - half, "high": mean + half, "n": len(x)}, bounds)


def seed_terms(table: np.ndarray) -> tuple[float, int, float]:
    """One side's seed level from its table (rounds + 1, S): (s²/S, its degrees of freedom S − 1, the overlap).

    s²/S, the variance of the per-seed values over S, also holds each seed's own image noise
    (seed × image); the image bootstrap of the mean over seeds holds a share of it again. The
    overlap, estimated from the per-seed bootstrap variances, is what is counted twice.
    """
    seeds = table.shape[1]
    if seeds < 2:  # one training: no spread to estimate, the images are the only source
        return 0.0, 1, 0.0
    per_seed = table[1:].var(axis=0, ddof=1).mean()
    of_mean = table[1:].mean(axis=1).var(ddof=1)
    return float(table[0].var(ddof=1) / seeds), seeds - 1, float(max(per_seed - of_mean, 0.0) / (seeds - 1))


def interval(
    estimate: float, image_rounds: np.ndarray, sides: Sequence[tuple[float, int, float]], confidence: float
) -> dict[str, float]:
    """Student-t interval with the seed and image variances added and Satterthwaite's degrees of freedom.

    image_rounds: the statistic in each image-bootstrap round (seeds fixed); sides: `seed_terms` of each
    independent side. With no seed spread the interval is the images' alone (normal quantile).
    """
    overlap = sum(side[2] for side in sides)
    image_var = max(float(image_rounds.var(ddof=1)) - overlap, 0.0)
    seed_vars = [(var, df) for var, df, _ in sides if var > 0]
    total = image_var + sum(var for var, _ in seed_vars)
    if total <= 0:
        return {"low": estimate, "high": estimate, "se": 0.0, "df": float("inf")}
    denominator = sum(var**2 / df for var, df in seed_vars) + image_var**2 / (len(image_rounds) - 1)
    df = total**2 / denominator
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, df)) * np.sqrt(total)
    return {"low": estimate - half, "high": estimate + half, "se": float(np.sqrt(total)), "df": float(df)}


def summarize(table: np.ndarray, confidence: float, bounds: Bounds | None = None) -> dict[str, Any]:
    """One statistic over seeds: mean, per-seed std and t-interval, and the interval over seeds and images.

    table: (rounds + 1, S), row 0 on the full data, then one row per image-bootstrap round. bounds: the
    statistic's range; both intervals are clipped to it (`clip`, module docstring).
    """
    mean = float(table[0].mean())
    summary: dict[str, Any] = {"mean": mean, "seeds": table.shape[1]}
    if table.shape[1] >= 2:
        t = t_interval(table[0], confidence)
        summary.update(std=t["std"], t_low=t["low"], t_high=t["high"])
    found = interval(mean, table[1:].mean(axis=1), [seed_terms(table)], confidence)
    summary.update(low=found["low"], high=found["high"])
    return clip(summary, bounds, ("t_low", "t_high", "low", "high"))


def compare(
    table_a: np.ndarray, table_b: np.ndarray, higher_is_better: bool, confidence: float, paired: bool = False
) -> dict[str, float | str]:
    """Difference A − B (means over seeds), its interval over seeds and images, p-value and verdict word.

    paired: A and B are the same trainings (e.g. a predictor and its temperature-scaled self), so the
    seed level is the spread of the per-seed differences; otherwise each side's seeds count separately.
    Both sides were evaluated on the same image resamples, so the image level is the bootstrap of the
    difference itself.
    """
    if paired and table_a.shape[1] != table_b.shape[1]:
        raise ValueError("paired comparison needs the same seeds on both sides")
    difference = float(table_a[0].mean() - table_b[0].mean())
    rounds = table_a[1:].mean(axis=1) - table_b[1:].mean(axis=1)
    sides = [seed_terms(table_a - table_b)] if paired else [seed_terms(table_a), seed_terms(table_b)]
    return difference_verdict(difference, rounds, sides, higher_is_better, confidence)


def difference_verdict(
    difference: float,
    image_rounds: np.ndarray,
    sides: Sequence[tuple[float, int, float]],
    higher_is_better: bool,
    confidence: float,
) -> dict[str, float | str]:
    """A difference's `interval` from its image rounds and each side's training level, its p-value and word."""
    found = interval(difference, image_rounds, sides, confidence)
    if found["se"] > 0:
        p_value = float(2 * scipy.stats.t.sf(abs(difference) / found["se"], found["df"]))
    else:
        p_value = 1.0 if difference == 0 else 0.0
    return {
        "difference": difference,
        "low": found["low"],
        "high": found["high"],
        "p_value": p_value,
        "verdict": word(found["low"], found["high"], higher_is_better),
    }


# --------------------------------------------------------------------------- choosing and counting

Candidate = TypeVar("Candidate")


def best_and_runner_up(
    candidates: Sequence[Candidate],
    value: Callable[[Candidate], float],
    higher_is_better: bool,
    same_trainings: Callable[[Candidate, Candidate], bool] = lambda a, b: False,
) -> tuple[Candidate, Candidate | None]:
    """The candidate with the best value, and the best of those not on the same trainings (another
    method, not the best one's own temperature-scaled self); None where there is no such candidate."""
    ranked = sorted(candidates, key=value, reverse=higher_is_better)
    best = ranked[0]
    others = [c for c in ranked[1:] if not same_trainings(best, c)]
    return best, (others[0] if others else None)


def adjust_for_many(results: Sequence[dict[str, Any]], alpha: float) -> dict[str, Any]:
    """Benjamini-Hochberg over the p-values of a table of comparisons (in place: `p_adjusted`, `survives`).

    Returns the reading of the whole table: how many comparisons, how many decided verdicts one
    would expect by chance if every true difference were 0 (alpha per comparison), how many were
    decided, and how many of those keep their word at a false discovery rate of alpha.
    """
    adjusted = scipy.stats.false_discovery_control([r["p_value"] for r in results], method="bh")
    undecided = WORDS["comparison"][2]
    for result, p in zip(results, adjusted, strict=True):
        result["p_adjusted"] = float(p)
        result["survives"] = bool(result["verdict"] != undecided and p < alpha)
    decided = sum(r["verdict"] != undecided for r in results)
    return {
        "comparisons": len(results),
        "alpha": alpha,
        "expected_by_chance": alpha * len(results),
        "decided": decided,
        "decided_after_benjamini_hochberg": sum(r["survives"] for r in results),
    }
