"""The verdict statistics at their edges: known t-intervals, identical predictors, one definition of each metric."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from uncertainty.core.vocabulary import ood_sets
from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation import metrics, statistics, subsets
from uncertainty.evaluation import verdicts as v
from uncertainty.models.summaries import summarize_passes


def test_t_interval_of_a_known_sample() -> None:
    # mean 3, sample std sqrt(2.5); t(0.975, df=4) = 2.7764451 -> half width 2.7764451 * 1.5811388 / sqrt(5)
    result = statistics.t_interval([1, 2, 3, 4, 5], 0.95)
    assert result["mean"] == 3 and result["std"] == pytest.approx(np.sqrt(2.5))
    assert result["low"] == pytest.approx(3 - 1.9632432, abs=1e-6)
    assert result["high"] == pytest.approx(3 + 1.9632432, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        statistics.t_interval([1.0])


@pytest.mark.parametrize(
    ("low", "high", "higher", "word"),
    [
        (0.01, 0.02, True, "better"),
        (0.01, 0.02, False, "worse"),
        (-0.02, -0.01, False, "better"),
        (-0.02, 0.01, True, "indistinguishable"),
        (0.0, 0.01, True, "indistinguishable"),
    ],
)
def test_verdict_words(low: float, high: float, higher: bool, word: str) -> None:
    assert statistics.word(low, high, higher) == word
    claim = statistics.WORDS["claim"][statistics.WORDS["comparison"].index(word)]
    assert statistics.word(low, high, higher, words="claim") == claim  # one rule, two vocabularies


def test_directions() -> None:
    assert registry.higher_is_better(("accuracy",)) and registry.higher_is_better(
        ("ood_auroc", "mnist", "entropy")
    )
    assert registry.higher_is_better(("misclassification_auroc", "entropy"))
    assert not any(
        registry.higher_is_better(path) for path in (("nll",), ("brier",), ("ece",), ("max_prob", "mnist"))
    )


def test_one_draw_of_weights_serves_every_stage() -> None:
    """The verdicts stage's rounds and the conformal stage's matrices are the same resamples."""
    sizes = {"test": 50, "mnist": 20}
    rounds = list(statistics.weight_rounds(sizes, 30, 4))
    stacked = statistics.weight_matrices(sizes, 30, 4)
    for s, n in sizes.items():
        np.testing.assert_array_equal(stacked[s], np.vstack([w[s] for w in rounds]))
        assert stacked[s].shape == (31, n) and (stacked[s][0] == 1).all()
        assert (stacked[s][1:].sum(axis=1) == n).all()  # each round a resample of n images


def test_best_and_runner_up_skips_the_same_trainings() -> None:
    values = {"a": 0.9, "a_ts": 0.95, "b": 0.8, "c": 0.85}
    same = lambda x, y: x.rstrip("_ts") == y.rstrip("_ts")  # noqa: E731
    assert statistics.best_and_runner_up(list(values), values.get, True, same) == ("a_ts", "c")
    assert statistics.best_and_runner_up(list(values), values.get, False) == ("b", "c")
    assert statistics.best_and_runner_up(["a", "a_ts"], values.get, True, same) == ("a_ts", None)


def test_nest_and_lookup_are_inverse() -> None:
    flat = {
        ("accuracy",): 0.9,
        ("ood_auroc", "mnist", "entropy"): 0.7,
        ("ood_auroc", "mnist", "mutual_information"): 0.8,
    }
    nested = v.nest(flat)
    assert nested == {"accuracy": 0.9, "ood_auroc": {"mnist": {"entropy": 0.7, "mutual_information": 0.8}}}
    assert all(v.lookup(nested, path) == value for path, value in flat.items())
    assert v.lookup(nested, ("ood_auroc", "uniform_noise", "entropy")) is None


def calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(10) * 0.5, n)
    labels = np.array([rng.choice(10, p=p) for p in probs])
    return probs, labels


def test_instance_metrics_at_unit_weights_are_the_metrics_module() -> None:
    """One definition: the bootstrap's kernels give the point estimates of uncertainty.evaluation.metrics exactly."""
    probs, labels = calibrated(500, 1)
    rng = np.random.default_rng(2)
    outputs = {"test": summarize_passes(np.stack([probs, np.roll(probs, 1, axis=0)]))}
    outputs.update({s: summarize_passes(rng.dirichlet(np.ones(10), (2, 300))) for s in ood_sets()})
    scores = ("one_minus_max_prob", "entropy", "mutual_information", "variation_ratio")
    found = registry.kernels(outputs.__getitem__, labels, scores, 15, ood_sets())
    everything = registry.kernels(  # evaluate's choice: every metric with a file, every score
        outputs.__getitem__,
        labels,
        scores,
        15,
        ood_sets(),
        chosen=lambda m: m.file is not None,
        own_score=False,
    )
    ones = {"test": np.ones(500), **{s: np.ones(300) for s in ood_sets()}}
    mean = outputs["test"]["mean"]
    assert found[("accuracy",)](ones) == metrics.accuracy(mean, labels)
    assert found[("nll",)](ones) == metrics.nll(mean, labels)
    assert found[("brier",)](ones) == metrics.brier(mean, labels)
    assert found[("ece",)](ones) == metrics.ece(mean, labels, 15)
    assert found[("adaptive_ece",)](ones) == metrics.adaptive_ece(mean, labels, 15)
    scores_in = metrics.uncertainty_scores(outputs["test"], scores)
    correct = metrics.correct_terms(mean, labels) == 1
    for score in scores:
        assert found[("misclassification_auroc", score)](ones) == pytest.approx(
            roc_auc_score(~correct, scores_in[score]), abs=1e-12
        )
        curve = metrics.risk_coverage(scores_in[score], correct)
        if score != "entropy":  # the selective metrics are resampled by the entropy only
            assert ("aurc", score) not in found and ("augrc", score) in everything
            continue
        assert found[("aurc", score)](ones) == curve["aurc"]
        assert found[("augrc", score)](ones) == curve["augrc"]
        assert found[("coverage_at_risk", score)](ones) == metrics.coverage_at_risk(curve, registry.RISK)
        assert everything[("augrc", score)](ones) == curve["augrc"]
    for s in ood_sets():
        out = metrics.uncertainty_scores(outputs[s], ("entropy", "mutual_information"))
        for score in ("entropy", "mutual_information"):
            assert found[("ood_auroc", s, score)](ones) == metrics.auroc(scores_in[score], out[score])
        assert found[("max_prob", s)](ones) == pytest.approx(outputs[s]["mean"].max(1).mean())


def instances(probs: np.ndarray, labels: np.ndarray, seeds: int, noise: float, seed: int) -> list[dict]:
    """Seeded instances of a one-softmax predictor: the probabilities plus noise, an OOD set of Dirichlet draws."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(seeds):
        p = probs + noise * rng.random(probs.shape)
        sets = {"test": {"mean": p / p.sum(1, keepdims=True)}}
        sets.update({s: {"mean": rng.dirichlet(np.ones(10), 300)} for s in ood_sets()})
        out.append(registry.kernels(sets.__getitem__, labels, ("entropy",), 15, ood_sets()))
    return out


SIZES = {"test": 1000, **{s: 300 for s in ood_sets()}}
MNIST_AUROC = ("ood_auroc", "mnist", "entropy")


def test_identical_predictors_give_a_difference_interval_containing_zero() -> None:
    probs, labels = calibrated(1000, 5)
    same = instances(probs, labels, 3, 0.05, 6)
    tables = v.replicates({"a": same, "b": same}, SIZES, 200, 7)
    for metric in (("accuracy",), ("nll",), ("ece",), MNIST_AUROC):
        result = v.compare(tables["a"][metric], tables["b"][metric], metric, 0.95)
        assert result["low"] <= 0 <= result["high"] and result["verdict"] == "indistinguishable", (
            metric,
            result,
        )
        assert result["difference"] == 0


def test_a_clearly_better_predictor_is_called_better_and_the_interval_covers_seeds() -> None:
    probs, labels = calibrated(1000, 9)
    sharp = np.eye(10)[labels] * 0.9 + 0.01  # right with 0.91
    good, bad = instances(sharp, labels, 3, 0.0, 10), instances(probs, labels, 3, 0.0, 11)
    tables = v.replicates({"good": good, "bad": bad}, SIZES, 200, 12)
    accuracy, nll = ("accuracy",), ("nll",)
    assert v.compare(tables["good"][accuracy], tables["bad"][accuracy], accuracy, 0.95)["verdict"] == "better"
    assert v.compare(tables["good"][nll], tables["bad"][nll], nll, 0.95)["verdict"] == "better"
    # Seeds that disagree widen the interval beyond the image bootstrap alone.
    spread = instances(probs, labels, 5, 3.0, 14)
    table = v.replicates({"x": spread}, SIZES, 400, 15)["x"][accuracy]
    assert np.ptp(table[0]) > 0.01  # the seeds really differ
    summary = statistics.summarize(table, 0.95)
    images_only = np.quantile(table[1:].mean(1), [0.025, 0.975])
    assert summary["high"] - summary["low"] > images_only[1] - images_only[0]
    assert summary["low"] < summary["mean"] < summary["high"]
    assert summary["t_low"] < summary["mean"] < summary["t_high"]


def test_the_summary_names_the_best_predictor_per_job_and_compares_it_with_the_runner_up() -> None:
    probs, labels = calibrated(1000, 16)
    sharp = np.eye(10)[labels] * 0.9 + 0.01
    tables = v.replicates(
        {"good": instances(sharp, labels, 3, 0.0, 17), "bad": instances(probs, labels, 3, 0.0, 18)},
        SIZES,
        200,
        19,
    )
    designs = {"good": v.Design(("g1", "g2", "g3")), "bad": v.Design(("b1", "b2", "b3"))}
    accuracy = v.best_for_job(tables, (("accuracy",),), 0.95, designs)
    assert accuracy["best"]["predictor"] == "good" and accuracy["runner_up"]["predictor"] == "bad"
    assert accuracy["verdict"] == "better" and accuracy["difference"] > 0
    nll = v.best_for_job(tables, (("nll",),), 0.95, designs)  # lower is better: still the sharp, right one
    assert nll["best"]["predictor"] == "good" and nll["difference"] < 0 and nll["verdict"] == "better"
    job = next(job for job in registry.jobs() if job.key == "refusing_uncertain_inputs")
    refusing = v.best_for_job(tables, job.paths(), 0.95, designs)
    # The sharp predictor is never wrong, so only the other has a misclassification AUROC: no comparison.
    assert refusing["best"]["predictor"] == "bad" and refusing["runner_up"] is None
    assert refusing["best"]["metric"] == ["misclassification_auroc", "entropy"]  # the one score these offer


def test_the_runner_up_is_another_method_not_the_best_ones_scaled_self() -> None:
    probs, labels = calibrated(1000, 21)
    sharp = np.eye(10)[labels] * 0.5 + 0.05
    good = instances(sharp, labels, 3, 0.0, 22)
    tables = v.replicates(
        {"good": good, "good_ts": good, "bad": instances(probs, labels, 3, 0.0, 23)}, SIZES, 100, 24
    )
    designs = {name: v.Design(trainings) for name, trainings in
               {"good": ("a", "b", "c"), "good_ts": ("a", "b", "c"), "bad": ("d", "e", "f")}.items()}  # fmt: skip
    found = v.best_for_job(tables, (("accuracy",),), 0.95, designs)
    assert found["best"]["predictor"] == "good" and found["runner_up"]["predictor"] == "bad"


# --------------------------------------------------------------------------- intervals in the metric's range


def near_one(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An accuracy near 1 over 4 trainings whose intervals run past 1: the trainings' table (201, 4), and
    the pool of their ensembles of 2 (201, 6) with its subsets."""
    rng = np.random.default_rng(seed)
    per_training = np.array([0.970, 0.999, 0.999, 0.998])
    table = np.vstack([per_training, per_training + rng.normal(0, 0.002, (200, 4))])
    members = subsets.member_subsets(4, 2, 100, 0)
    return table, table[:, members].mean(axis=2), members


def test_an_interval_past_its_metrics_range_is_clipped_to_it_and_marked() -> None:
    table, pool, members = near_one(41)
    free = statistics.summarize(table, 0.95)
    assert free["high"] > 1 and free["t_high"] > 1 and "clipped" not in free  # what clipping is for
    clipped = statistics.summarize(table, 0.95, (0.0, 1.0))
    assert clipped == {**free, "t_high": 1.0, "high": 1.0, "clipped": True}
    assert list(clipped) == [*free, "clipped"]  # the mark comes last, the rest in its order
    assert v.summarize(table, v.Design(("a", "b", "c", "d")), ("accuracy",), 0.95) == clipped
    # a pool of ensembles (the U-statistic's interval) alike
    pool_free = subsets.u_summarize(pool, members, 4, 0.95)
    assert pool_free["high"] > 1
    pooled = v.summarize(pool, v.Design(("a", "b", "c", "d"), members), ("accuracy",), 0.95)
    assert pooled == {**pool_free, "high": 1.0, "clipped": True}
    # the t-interval of a sample, at both ends, and the registry's range of a metric under corruption
    t = statistics.t_interval([0.001, 0.002, 0.04], 0.95, (0.0, 1.0))
    assert t["low"] == 0.0 and t["high"] < 1 and t["clipped"] is True
    assert statistics.t_interval([0.001, 0.002, 0.04], 0.95)["low"] < 0
    assert registry.bounds(("corrupted", "ece", "3")) == registry.bounds(("ece",)) == (0.0, 1.0)


def test_an_interval_inside_its_metrics_range_is_left_exactly_as_it_was() -> None:
    probs, labels = calibrated(1000, 42)
    tables = v.replicates({"x": instances(probs, labels, 3, 0.05, 43)}, SIZES, 100, 44)["x"]
    for path in (("accuracy",), ("nll",), ("brier",), ("ece",), MNIST_AUROC):
        free = statistics.summarize(tables[path], 0.95)
        bounded = v.summarize(tables[path], v.Design(("a", "b", "c")), path, 0.95)
        assert list(bounded.items()) == list(free.items()), path  # the same keys, order and values: unmarked
        assert "clipped" not in statistics.t_interval(tables[path][0], 0.95, registry.bounds(path))
    assert statistics.summarize(tables[("accuracy",)], 0.95, None) == statistics.summarize(
        tables[("accuracy",)], 0.95
    )


# --------------------------------------------------------------------------- coverage, simulated


def percentile_two_level(
    table_a: np.ndarray, table_b: np.ndarray, confidence: float, seed: int
) -> tuple[float, float]:
    """The procedure the pipeline used before: each round resamples the images (the table's rows) and,
    independently, each side's seeds with replacement; the percentile interval of the rounds."""
    rng = np.random.default_rng(seed)
    rounds = table_a.shape[0] - 1
    picks_a = rng.integers(0, table_a.shape[1], (rounds, table_a.shape[1]))
    picks_b = rng.integers(0, table_b.shape[1], (rounds, table_b.shape[1]))
    boot = np.take_along_axis(table_a[1:], picks_a, 1).mean(1) - np.take_along_axis(
        table_b[1:], picks_b, 1
    ).mean(1)
    return tuple(np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2]))


def simulated_coverage(
    seed_spread: float, runs: int, seeds: int = 5, images: int = 10_000, rounds: int = 200
):
    """Coverage of the true accuracy difference A − B by the 95 % interval, new procedure and old.

    Shaped like the pipeline's comparisons: two predictors, `seeds` independent trainings each,
    scored on the same `images` test images drawn from a population; image i's difficulty v_i is
    shared, training s shifts every image by u_s, and each (training, image) adds its own noise:
    correct = [v_i + u_s + delta + e_si > 0], v ~ N(0, 1.5²), u ~ N(0, seed_spread²), e ~ N(0, 1).
    The true accuracy, over trainings and images, is Phi(delta / sqrt(1.5² + seed_spread² + 1)).
    """
    rng = np.random.default_rng(2026)
    deltas = {"a": 1.30, "b": 1.20}
    scale = np.sqrt(1.5**2 + seed_spread**2 + 1)
    truth = scipy.stats.norm.cdf(deltas["a"] / scale) - scipy.stats.norm.cdf(deltas["b"] / scale)
    covered = {"new": 0, "old": 0}
    for run in range(runs):
        difficulty = rng.normal(0, 1.5, images)
        # One image resample per round, shared by both predictors (as replicates does): counts (rounds, images).
        draws = rng.integers(0, images, (rounds, images)) + images * np.arange(rounds)[:, None]
        weights = np.bincount(draws.ravel(), minlength=rounds * images).reshape(rounds, images) / images
        tables = {}
        for name, delta in deltas.items():
            shift = rng.normal(0, seed_spread, seeds)
            correct = (
                difficulty[:, None] + shift[None, :] + delta + rng.normal(0, 1, (images, seeds)) > 0
            ).astype(float)
            tables[name] = np.vstack([correct.mean(0), weights @ correct])  # (rounds + 1, seeds)
        new = v.compare(tables["a"], tables["b"], ("accuracy",), 0.95)
        covered["new"] += new["low"] <= truth <= new["high"]
        low, high = percentile_two_level(tables["a"], tables["b"], 0.95, run)
        covered["old"] += low <= truth <= high
    return {key: count / runs for key, count in covered.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "seed_spread",
    [
        0.03,
        0.15,
    ],  # accuracy's spread over seeds ~0.005 (images and seeds matter alike) and ~0.02 (seeds dominate)
)
def test_the_interval_covers_the_true_difference_as_often_as_it_says(seed_spread: float) -> None:
    coverage = simulated_coverage(seed_spread, runs=600)
    print(f"seed spread {seed_spread}: coverage new {coverage['new']:.3f}, old {coverage['old']:.3f}")
    assert 0.93 <= coverage["new"] <= 0.97, coverage
    if seed_spread >= 0.15:  # where the seeds dominate, the old percentile bootstrap over 5 seeds falls short
        assert coverage["old"] < 0.93, coverage


def test_compare_designs_pairs_what_shares_trainings_and_turns_a_pool_round() -> None:
    """A pool against a single-model method on its trainings is paired subset by subset, and B − A with
    the pool on the right is the same comparison turned round; other trainings are independent."""
    rng = np.random.default_rng(31)
    n, rounds = 6, 50
    members = subsets.member_subsets(n, 3, 100, 0)
    effect = rng.normal(0, 0.02, n)  # each training's own level, shared by the single model and its ensembles
    single = 0.80 + effect + rng.normal(0, 0.002, (2 * rounds + 1, n))  # more rounds: a pool reads the first
    pool = 0.85 + effect[members].mean(axis=1) + rng.normal(0, 0.002, (rounds + 1, len(members)))
    trainings = tuple(f"t{i}" for i in range(n))
    pooled, alone = v.Design(trainings, members), v.Design(trainings)
    accuracy = ("accuracy",)
    paired = v.compare_designs(pool, pooled, single, alone, accuracy, 0.95)
    assert paired == subsets.u_compare(
        pool, members, single[: rounds + 1], None, n, True, 0.95, "shared_subsets"
    )
    turned = v.compare_designs(single, alone, pool, pooled, accuracy, 0.95)
    assert turned["difference"] == -paired["difference"]
    assert (turned["low"], turned["high"]) == (-paired["high"], -paired["low"])
    assert paired["verdict"] == "better" and turned["verdict"] == "worse"
    other = v.compare_designs(
        pool, pooled, single, v.Design(tuple(f"o{i}" for i in range(n))), accuracy, 0.95
    )
    assert other == subsets.u_compare(pool, members, single[: rounds + 1], None, n, True, 0.95, "independent")
    # the training effect cancels in the pairing: its interval is the narrower
    assert paired["high"] - paired["low"] < other["high"] - other["low"]
    assert v.half_width(paired) == (paired["high"] - paired["low"]) / 2
