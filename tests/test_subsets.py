"""Ensembles over subsets of the trainings: the subsets, the jackknife by hand and by a loop, and the
coverage of the U-statistic's interval, simulated against the old design of disjoint ensembles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from uncertainty.evaluation import metrics, statistics
from uncertainty.evaluation import subsets as sub

# --------------------------------------------------------------------------- the subsets


def test_all_subsets_in_lexicographic_order() -> None:
    assert sub.member_subsets(5, 2, 10, 0).tolist() == [list(c) for c in itertools.combinations(range(5), 2)]
    every = sub.member_subsets(10, 5, 252, 0)
    assert (
        every.shape == (252, 5)
        and every[0].tolist() == [0, 1, 2, 3, 4]
        and every[-1].tolist() == [5, 6, 7, 8, 9]
    )
    assert sub.member_subsets(4, 4, 1, 0).tolist() == [[0, 1, 2, 3]]
    assert sub.member_subsets(3, 1, 5, 0).tolist() == [[0], [1], [2]]


def test_a_seeded_draw_of_distinct_subsets_when_there_are_more_than_the_limit() -> None:
    drawn = sub.member_subsets(10, 5, 60, 3)
    rows = [tuple(row) for row in drawn.tolist()]
    assert drawn.shape == (60, 5) and len(set(rows)) == 60 and rows == sorted(rows)
    assert (np.diff(drawn, axis=1) > 0).all() and drawn.min() >= 0 and drawn.max() <= 9
    np.testing.assert_array_equal(drawn, sub.member_subsets(10, 5, 60, 3))
    assert not np.array_equal(drawn, sub.member_subsets(10, 5, 60, 4))
    # Uniform: over 200 draws of 60, each training is in half of the subsets, each pair in 2/9.
    counts = np.zeros((10, 10))
    for seed in range(200):
        member = np.zeros((60, 10))
        np.put_along_axis(member, sub.member_subsets(10, 5, 60, seed), 1.0, axis=1)
        counts += member.T @ member
    assert np.allclose(np.diag(counts) / 12_000, 0.5, atol=0.01)
    assert np.allclose(counts[~np.eye(10, dtype=bool)] / 12_000, 2 / 9, atol=0.012)


@pytest.mark.parametrize(
    ("n", "m", "limit", "match"),
    [(5, 0, 10, "1 <= m <= n"), (5, 6, 10, "1 <= m <= n"), (0, 1, 10, "1 <= m <= n"), (5, 2, 0, "limit")],
)
def test_bad_subsets_are_refused(n: int, m: int, limit: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sub.member_subsets(n, m, limit, 0)


def test_bad_tables_are_refused() -> None:
    subsets = sub.member_subsets(4, 2, 10, 0)
    with pytest.raises(ValueError, match="one column per subset"):
        sub.u_table_terms(np.zeros((5, 5)), subsets, 4)
    with pytest.raises(ValueError, match="range"):
        sub.u_table_terms(np.zeros((5, 6)), subsets, 3)
    with pytest.raises(ValueError, match="2 rounds"):
        sub.u_table_terms(np.zeros((2, 6)), subsets, 4)
    with pytest.raises(ValueError, match="in every subset"):
        sub.u_table_terms(np.zeros((5, 2)), np.array([[0, 1], [0, 2]]), 3)
    table = np.zeros((5, 6))
    with pytest.raises(ValueError, match="paired_design"):
        sub.u_compare(table, subsets, table, subsets, 4, True, 0.95, "paired")
    with pytest.raises(ValueError, match="same subsets"):
        sub.u_compare(table, subsets, table, subsets[::-1], 4, True, 0.95, "shared_subsets")
    with pytest.raises(ValueError, match="one column per training"):
        sub.u_compare(table, subsets, np.zeros((5, 3)), None, 4, True, 0.95, "shared_subsets")


# --------------------------------------------------------------------------- the jackknife, exactly


def test_a_metric_linear_in_the_members_gives_the_seed_level_exactly() -> None:
    """Per-training values x, an ensemble's value the mean of its members': U is the mean of x and
    U₋ᵢ = (n x̄ − xᵢ)/(n − 1), so U₋ᵢ − Ū = −(xᵢ − x̄)/(n − 1) and the jackknife is s²/n exactly,
    in every row: the same variance, degrees of freedom and overlap as statistics.seed_terms."""
    rng = np.random.default_rng(1)
    per_training = rng.normal(0.8, 0.02, (41, 10)) + rng.normal(0, 0.01, (41, 1))
    subsets = sub.member_subsets(10, 5, 252, 0)
    table = per_training[:, subsets].mean(axis=2)
    variance, df, overlap = sub.u_table_terms(table, subsets, 10)
    assert variance == pytest.approx(per_training[0].var(ddof=1) / 10, rel=1e-12) and df == 9
    assert (variance, df, overlap) == pytest.approx(statistics.seed_terms(per_training), rel=1e-10)
    summary, expected = sub.u_summarize(table, subsets, 10, 0.95), statistics.summarize(per_training, 0.95)
    assert summary["seeds"] == 10 and summary["subsets"] == 252
    for key in ("mean", "low", "high"):
        assert summary[key] == pytest.approx(expected[key], rel=1e-12)
    other = rng.normal(0.7, 0.02, (41, 10))
    independent = sub.u_compare(
        table, subsets, other[:, subsets].mean(axis=2), subsets, 10, True, 0.95, "independent"
    )
    assert independent == pytest.approx(statistics.compare(per_training, other, True, 0.95))
    paired = sub.u_compare(table, subsets, other, None, 10, True, 0.95, "shared_subsets")
    assert paired == pytest.approx(statistics.compare(per_training, other, True, 0.95, paired=True))


def naive_jackknife(row: np.ndarray, subsets: np.ndarray, n: int) -> float:
    """The definition, from scratch: U without training i is the mean over the subsets not holding it."""
    left_out = [
        np.mean([value for value, members in zip(row, subsets) if i not in members]) for i in range(n)
    ]
    return (n - 1) / n * sum((u - np.mean(left_out)) ** 2 for u in left_out)


@pytest.mark.parametrize("limit", [252, 40])
def test_the_jackknife_is_the_leave_one_out_loop(limit: int) -> None:
    rng = np.random.default_rng(2)
    subsets = sub.member_subsets(10, 5, limit, 5)
    per_training = rng.normal(size=(31, 10))
    table = np.exp(per_training[:, subsets]).max(axis=2) + rng.normal(0, 0.1, (31, len(subsets)))
    variance, df, overlap = sub.u_table_terms(table, subsets, 10)
    assert variance == pytest.approx(naive_jackknife(table[0], subsets, 10), rel=1e-10) and df == 9
    # The overlap: the jackknife of each round's departure from the rounds' mean, averaged (ddof 1).
    departures = table[1:] - table[1:].mean(axis=0)
    by_rounds = sum(naive_jackknife(row, subsets, 10) for row in departures) / (len(departures) - 1)
    assert overlap == pytest.approx(by_rounds, rel=1e-10)


def test_the_jackknife_is_hoeffdings_first_order_term_with_zeta_estimated_right() -> None:
    """All subsets: with Aᵢ the mean over the subsets holding i,
    jackknife = m²/n · (n − 1)/(n − m)² Σ(Aᵢ − U)²; the plain spread of the Aᵢ gives (n − m)²/(n − 1)² of it."""
    n, m = 10, 5
    subsets = sub.member_subsets(n, m, 252, 0)
    row = np.random.default_rng(3).gamma(2.0, size=len(subsets))
    holding = np.array([row[(subsets == i).any(axis=1)].mean() for i in range(n)])
    spread = ((holding - row.mean()) ** 2).sum()
    variance = sub.u_table_terms(np.vstack([row, row, row[::-1]]), subsets, n)[0]
    assert variance == pytest.approx(m**2 / n * (n - 1) / (n - m) ** 2 * spread, rel=1e-12)
    assert m**2 / n * spread / (n - 1) == pytest.approx(variance * (n - m) ** 2 / (n - 1) ** 2, rel=1e-12)


def test_paired_against_the_members_cancels_what_the_trainings_share() -> None:
    """An ensemble worth exactly its members' mean plus 0.01: the difference is 0.01 with no spread,
    whatever the trainings and images; with B an ensemble over the same subsets, the same numbers."""
    rng = np.random.default_rng(4)
    single = rng.normal(0.8, 0.05, (51, 10))
    subsets = sub.member_subsets(10, 5, 60, 0)
    members_mean = single[:, subsets].mean(axis=2)
    found = sub.u_compare(members_mean + 0.01, subsets, single, None, 10, True, 0.95, "shared_subsets")
    assert found["difference"] == pytest.approx(0.01) and found["verdict"] == "better"
    assert found["low"] == pytest.approx(0.01) and found["high"] == pytest.approx(0.01)
    again = sub.u_compare(
        members_mean + 0.01, subsets, members_mean, subsets, 10, True, 0.95, "shared_subsets"
    )
    assert again == pytest.approx(found)
    # Independent trainings instead: each side's spread counts, and the same ensembles decide nothing.
    apart = sub.u_compare(members_mean + 0.01, subsets, single, None, 10, True, 0.95, "independent")
    assert apart["low"] < 0 < apart["high"] and apart["verdict"] == "indistinguishable"
    sides = [sub.u_table_terms(members_mean, subsets, 10), statistics.seed_terms(single)]
    rounds = members_mean[1:].mean(axis=1) + 0.01 - single[1:].mean(axis=1)
    expected = statistics.interval(apart["difference"], rounds, sides, 0.95)
    assert (apart["low"], apart["high"]) == pytest.approx((expected["low"], expected["high"]))


# --------------------------------------------------------------------------- coverage, simulated

CLASSES, TRAININGS, MEMBERS = 10, 10, 5


def softmax_outputs(rng: np.random.Generator, images: int, trainings: int, spread: float) -> np.ndarray:
    """Softmax outputs (trainings, 2 · images, classes) of `images` test images, then `images` OOD images.

    An image's logits are shared by every training: a test image has its class's logit a ~ N(3, 1),
    an OOD image a random class's logit b ~ N(1, 1) (the difficulty). Training t shifts each class's
    logit by u_tk ~ N(0, spread²), for every image (what the training learnt), and adds its own noise
    N(0, 1) to every (image, class) (a CNN's image-by-image quirks). Averaging members washes out the
    noise, so the ensemble separates OOD images better than its members, by an amount that depends
    on the members' shifts: the metric is not linear in the members.
    """
    signal_in, class_in = rng.normal(3.0, 1.0, images), rng.integers(0, CLASSES, images)
    signal_out, class_out = rng.normal(1.0, 1.0, images), rng.integers(0, CLASSES, images)
    shared = np.zeros((2 * images, CLASSES))
    shared[np.arange(images), class_in] = signal_in
    shared[images + np.arange(images), class_out] = signal_out
    shift = rng.normal(0, spread, (trainings, 1, CLASSES))
    logits = shared[None] + shift + rng.normal(0, 1.0, (trainings, 2 * images, CLASSES))
    logits -= logits.max(axis=-1, keepdims=True)
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


def entropy(probabilities: np.ndarray) -> np.ndarray:
    return -(probabilities * np.log(np.clip(probabilities, 1e-300, None))).sum(axis=-1)


def weighted_aurocs(scores: np.ndarray, images: int, weights: np.ndarray) -> np.ndarray:
    """AUROC of OOD (the last `images` columns, higher score) against test images, per score row and
    weight row: (weight rows, score rows). Each OOD image counts the weight of the test images below it."""
    weights_in, weights_out = weights[:, :images], weights[:, images:]
    found = np.empty((len(weights), len(scores)))
    for column, score in enumerate(scores):
        order = np.argsort(score[:images])
        below = np.searchsorted(score[:images][order], score[images:])
        cumulative = np.zeros((len(weights), images + 1))
        np.cumsum(weights_in[:, order], axis=1, out=cumulative[:, 1:])
        found[:, column] = np.einsum("rj,rj->r", cumulative[:, below], weights_out)
    return found / (weights_in.sum(axis=1) * weights_out.sum(axis=1))[:, None]


def test_the_simulations_auroc_is_the_pipelines() -> None:
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(3, 400)) + np.r_[np.zeros(200), 0.5 * np.ones(200)]
    weights = statistics.weight_matrices({"in": 200, "out": 200}, 4, 7)
    found = weighted_aurocs(scores, 200, np.hstack([weights["in"], weights["out"]]))
    for row, column in itertools.product(range(5), range(3)):
        score = scores[column]
        expected = metrics.auroc(score[:200], score[200:], weights["in"][row], weights["out"][row])
        assert found[row, column] == pytest.approx(expected, abs=1e-12)


def true_values(spread: float, draws: int, images: int, seed: int) -> np.ndarray:
    """Monte Carlo truth: (estimate, standard error) of E[AUROC of an ensemble of 5], E[AUROC of one
    model] and their difference. Each draw is 5 fresh trainings and fresh images; an AUROC on finite
    images is unbiased for the population's, so the mean over draws is unbiased for the expectation
    over trainings and images, with the standard error of a mean over independent draws."""
    rng = np.random.default_rng(seed)
    found = np.empty((draws, 3))
    for draw in range(draws):
        probabilities = softmax_outputs(rng, images, MEMBERS, spread)
        scores = np.vstack([entropy(probabilities.mean(axis=0)), entropy(probabilities)])
        aurocs = weighted_aurocs(scores, images, np.ones((1, 2 * images)))[0]
        found[draw] = aurocs[0], aurocs[1:].mean(), aurocs[0] - aurocs[1:].mean()
    return np.stack([found.mean(axis=0), found.std(axis=0, ddof=1) / np.sqrt(draws)], axis=1)


# true_values(spread, draws=20_000, images=2_000, seed=7), run once (2.5 CPU minutes a spread):
# (ensemble of 5, one model, difference); standard errors ≤ 0.00004 at spread 0.1, ≤ 0.00013 at 1.0.
TRUTH = {0.1: (0.891222, 0.785258, 0.105964), 1.0: (0.855135, 0.693215, 0.161920)}


@pytest.mark.parametrize("spread", sorted(TRUTH))
def test_the_stored_truth_is_the_models(spread: float) -> None:
    found = true_values(spread, 300, 2_000, 8)
    for (estimate, error), stored in zip(found, TRUTH[spread], strict=True):
        assert abs(estimate - stored) < 4 * error, (spread, found)


def simulated_coverage(
    spread: float, runs: int, images: int, rounds: int, limit: int, seed: int = 11
) -> dict[str, float]:
    """Coverage of the truth by the nominal 95 % interval, three designs, each run a fresh experiment:
    10 trainings, `images` test and `images` OOD images from the population, `rounds` image resamples
    shared by every ensemble and model (statistics.weight_matrices), `limit` subsets of 5.

    u: the U-statistic over the subsets, u_summarize, against E[ensemble of 5]. disjoint: the old
    design, trainings 0-4 and 5-9 as two ensembles, statistics.summarize, against the same.
    paired: u_compare "shared_subsets" of the ensembles against their members, against the
    difference E[ensemble of 5] − E[one model].
    """
    truth_ensemble, _, truth_difference = TRUTH[spread]
    disjoint = np.arange(TRAININGS).reshape(2, MEMBERS)
    covered = {"u": 0, "disjoint": 0, "paired": 0}
    for run in range(runs):
        rng = np.random.default_rng([seed, run])
        probabilities = softmax_outputs(rng, images, TRAININGS, spread)
        subsets = sub.member_subsets(TRAININGS, MEMBERS, limit, run)
        ensembles = np.vstack([subsets, disjoint])
        member_weights = np.zeros((len(ensembles), TRAININGS))
        np.put_along_axis(member_weights, ensembles, 1 / MEMBERS, axis=1)
        ensembled = (member_weights @ probabilities.reshape(TRAININGS, -1)).reshape(
            len(ensembles), 2 * images, -1
        )
        weights = statistics.weight_matrices({"in": images, "out": images}, rounds, run)
        aurocs = weighted_aurocs(
            np.vstack([entropy(ensembled), entropy(probabilities)]),
            images,
            np.hstack([weights["in"], weights["out"]]),
        )
        table, old, single = np.split(aurocs, [len(subsets), len(ensembles)], axis=1)
        found = {
            "u": sub.u_summarize(table, subsets, TRAININGS, 0.95),
            "disjoint": statistics.summarize(old, 0.95),
            "paired": sub.u_compare(table, subsets, single, None, TRAININGS, True, 0.95, "shared_subsets"),
        }
        for design, truth in (
            ("u", truth_ensemble),
            ("disjoint", truth_ensemble),
            ("paired", truth_difference),
        ):
            covered[design] += found[design]["low"] <= truth <= found[design]["high"]
    return {design: count / runs for design, count in covered.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "spread",
    [0.1, 1.0],  # the trainings' share of the U-statistic's variance ~0 (the images dominate) and ~4/5
)
def test_the_u_statistics_interval_covers_the_expected_ensemble_as_often_as_it_says(spread: float) -> None:
    runs = 400
    coverage = simulated_coverage(spread, runs, images=1_000, rounds=100, limit=60)
    error = math.sqrt(0.95 * 0.05 / runs)
    print(
        f"\nspread {spread}, {runs} runs (Monte Carlo error {error:.3f}): "
        + ", ".join(f"{design} {value:.3f}" for design, value in coverage.items())
    )
    assert 0.93 <= coverage["u"] <= 0.97, coverage
    # The paired difference cancels the first-order part of the trainings, so the higher-order part the
    # jackknife counts 2.25 times or more weighs more: at spread 1.0 it covers ~0.97 (0.971 over
    # 3,000 runs), conservative rather than short.
    assert 0.93 <= coverage["paired"] <= 0.99, coverage
    if spread >= 1.0:  # where the trainings dominate, two disjoint ensembles (1 degree of freedom) fall short
        assert coverage["disjoint"] < 0.93, coverage
