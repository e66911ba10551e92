"""Conformal prediction sets: equal to MAPIE 1.6.0's, covering 1 - alpha over random splits, their edges, and
their intervals kept in range."""

from __future__ import annotations

import numpy as np
import pytest
from mapie.classification import SplitConformalClassifier
from mapie.conformity_scores import RAPSConformityScore
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedShuffleSplit

from tests.test_verdicts import calibrated
from uncertainty.core.vocabulary import ood_sets
from uncertainty.evaluation import coverage as sets_coverage
from uncertainty.evaluation import statistics
from uncertainty.methods import conformal as cp


def logit_sample(n: int, seed: int, n_classes: int = 10, hard: int | None = None, peak: float = 2.5):
    """Softmax of Gaussian logits peaked at a latent class, labels drawn from the probabilities.

    Calibrated by construction, probabilities bounded away from 0 (MAPIE replaces probabilities below
    1e-8 in its sets). The latent class `hard` gets a weak peak: its images have flat probabilities.
    """
    rng = np.random.default_rng(seed)
    latent = rng.integers(n_classes, size=n)
    peak = np.where(latent == hard, 0.3, peak)
    logits = rng.normal(size=(n, n_classes)) + peak[:, None] * np.eye(n_classes)[latent]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    return probs, np.minimum(labels, n_classes - 1)  # the min guards against a cumsum just below 1


# --- Against MAPIE 1.6.0 ------------------------------------------------------------------------------


class StoredProbabilities(ClassifierMixin, BaseEstimator):
    """A prefit classifier whose input is one integer column: the row of the stored probabilities."""

    def __init__(self, probs: np.ndarray | None = None) -> None:
        self.probs = probs

    def fit(self, X, y=None):  # prefit: never called
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.probs[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


class FixedLambdaRAPS(RAPSConformityScore):
    """MAPIE's RAPS with lambda fixed (its grid search replaced); k_reg stays MAPIE's own choice."""

    def __init__(self, lam: float) -> None:
        super().__init__()
        self.lam = lam

    def _find_lambda_star(self, *args, **kwargs) -> float:
        return self.lam


SEED, ALPHA, N_CAL = 7, 0.1, 600
PROBS, LABELS = logit_sample(1600, 11, peak=4.5)  # top-label accuracy 0.83
CAL = np.arange(N_CAL)
ROWS = np.arange(len(LABELS))[:, None]  # predict on every image, the calibration images included


def mapie_sets(conformity_score, include_last_label=True, alpha=ALPHA):
    """(MAPIE's fitted model, its sets of all images) calibrated on CAL."""
    estimator = StoredProbabilities(PROBS)
    estimator.classes_ = np.arange(PROBS.shape[1])  # what check_is_fitted and MAPIE's prefit mode read
    estimator.n_features_in_ = 1
    model = SplitConformalClassifier(
        estimator=estimator,
        prefit=True,
        conformity_score=conformity_score,
        confidence_level=1 - alpha,
        random_state=SEED,
    ).conformalize(ROWS[CAL], LABELS[CAL])
    _, sets = model.predict_set(ROWS, conformity_score_params={"include_last_label": include_last_label})
    return model._mapie_classifier, sets[:, :, 0]


def mapie_u(n: int) -> np.ndarray:
    """MAPIE's uniforms: an int random_state gives a fresh RandomState(seed) for each draw, so the
    calibration scores and the prediction-time tie-breaking both start at the same numbers. MAPIE's
    score is cumsum - U * p_y = mass above + (1 - U) * p_y, so our u is 1 - U."""
    return 1.0 - np.random.RandomState(SEED).uniform(size=n)


def with_top_label(sets: np.ndarray) -> np.ndarray:
    """MAPIE's include_last_label=False never returns an empty set: it keeps the top label."""
    out = sets.copy()
    empty = ~sets.any(axis=1)
    out[empty, np.argmax(PROBS[empty], axis=1)] = True
    return out


@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.2])
def test_thr_threshold_and_sets_equal_mapie_lac(alpha: float) -> None:
    """LAC: score 1 - p_y; MAPIE's quantile (_mapie_classifier.quantiles_, set by predict_set) is
    np.quantile(scores, ceil((n + 1)(1 - alpha)) / n, method="lower"), the same order statistic, and its
    sets are 1 - p - t <= 1e-8: equal sets, since no score lies within 1e-8 above t."""
    model, sets = mapie_sets("lac", alpha=alpha)
    threshold = cp.quantile(cp.true_label_scores(PROBS[CAL], LABELS[CAL], "thr"), alpha)
    assert threshold == model.quantiles_[0]  # bit-identical
    np.testing.assert_array_equal(cp.prediction_sets(PROBS, threshold, "thr"), sets)


def test_aps_threshold_and_sets_equal_mapie_for_each_include_last_label() -> None:
    """APS. MAPIE always randomizes the calibration scores (cumsum - U p_y); with our u = 1 - U the
    thresholds agree (to rounding: the two sums differ in the last bit). At prediction time:

    - include_last_label="randomized" (keep the label crossing t iff (cumsum - t) / p <= U') is our
      randomized set with u = 1 - U' (U' MAPIE's second draw): equal sets;
    - include_last_label=True (every label up to the first whose cumsum reaches t) is our u=0 set: equal;
    - include_last_label=False (the labels whose cumsum <= t) is our u=None set, except that MAPIE puts
      the top label in the sets we leave empty.
    """
    u = mapie_u(len(LABELS))
    threshold = cp.quantile(cp.true_label_scores(PROBS[CAL], LABELS[CAL], "aps", u=u[:N_CAL]), alpha=ALPHA)
    model, randomized = mapie_sets("aps", "randomized")
    assert threshold == pytest.approx(model.quantiles_[0], rel=1e-12)
    np.testing.assert_array_equal(cp.prediction_sets(PROBS, threshold, "aps", u=u), randomized)
    np.testing.assert_array_equal(cp.prediction_sets(PROBS, threshold, "aps", u=0.0), mapie_sets("aps")[1])
    ours = cp.prediction_sets(PROBS, threshold, "aps")
    assert (~ours.any(axis=1)).sum() > 10  # the difference is exercised
    np.testing.assert_array_equal(with_top_label(ours), mapie_sets("aps", False)[1])


def raps_like_mapie(model) -> tuple[float, dict]:
    """Our RAPS threshold at MAPIE's k_star and lambda_star, calibrated on the images it calibrated on."""
    score = model.conformity_score_function_
    raps = {"lam": float(score.lambda_star), "k_reg": int(score.k_star[0])}
    split = StratifiedShuffleSplit(test_size=None, random_state=SEED)  # MAPIE's split, size_raps=None
    fit_rows, held_out = next(split.split(ROWS[CAL], LABELS[CAL]))
    np.testing.assert_array_equal(score.X_raps[:, 0], CAL[held_out])
    rows = CAL[fit_rows]
    u = mapie_u(len(rows))
    threshold = cp.quantile(cp.true_label_scores(PROBS[rows], LABELS[rows], "raps", u=u, **raps), ALPHA)
    assert threshold == pytest.approx(model.quantiles_[0], rel=1e-12)
    return threshold, raps


@pytest.mark.parametrize("lam", [None, 0.01])
def test_raps_threshold_and_sets_equal_mapie_at_its_lambda_and_k(lam: float | None) -> None:
    """RAPS. MAPIE takes no lam or k_reg: it holds out 10 % of the calibration images
    (StratifiedShuffleSplit(test_size=None, random_state)), picks k_star there (the
    ceil((m + 1)(1 - alpha))-th smallest 0-based rank, + 1) and lambda_star (its grid, in-sample, and
    depending on include_last_label); the other 90 % calibrate. We read its k_star and lambda_star
    (lam=None), or force lambda with a subclass (0.01: sets reaching rank k + 2), recover its held-out
    images, and calibrate ours on the same 90 % with u = 1 - U: the thresholds agree (to rounding).

    - include_last_label="randomized": our sets with u = 1 - U', except that MAPIE's tie-breaking
      divides (E_L - t) by p_L - lam (L - k)^+ + lam 1[L > k], not by p_L as Angelopoulos et al.'s code
      does; the two differ when the rank L of the label crossing t is >= k + 2, and only at that label.
    - include_last_label=False: our u=None sets plus the top label in the sets we leave empty.
    - include_last_label=True has no equivalent: MAPIE includes rank r iff E_{r-1} < t (rank r - 1's
      penalty), a superset of our u=0 set, which is checked.
    """

    def conformity_score():
        return "raps" if lam is None else FixedLambdaRAPS(lam)

    model, randomized = mapie_sets(conformity_score(), "randomized")
    threshold, raps = raps_like_mapie(model)
    ours = cp.prediction_sets(PROBS, threshold, "raps", u=mapie_u(len(LABELS)), **raps)
    plain = cp.label_scores(PROBS, "raps", **raps)  # u=None: E_r, MAPIE's regularized cumsum
    crossing = np.argmin(np.where(plain >= threshold, plain, np.inf), axis=1)
    crossing_rank = (plain <= plain[np.arange(len(PROBS)), crossing][:, None]).sum(axis=1)
    short = crossing_rank <= raps["k_reg"] + 1
    np.testing.assert_array_equal(ours[short], randomized[short])
    rows, labels = np.nonzero(ours != randomized)
    assert len(np.unique(rows)) == len(rows) and np.all(labels == crossing[rows]) and not short[rows].any()
    if lam is not None:
        assert (~short).sum() > 10 and len(rows) > 0  # the long sets and the difference are exercised

    model, unrandomized = mapie_sets(conformity_score(), False)
    threshold, raps = raps_like_mapie(model)
    np.testing.assert_array_equal(
        with_top_label(cp.prediction_sets(PROBS, threshold, "raps", **raps)), unrandomized
    )

    model, first_crossing = mapie_sets(conformity_score(), True)
    threshold, raps = raps_like_mapie(model)
    assert np.all(first_crossing >= cp.prediction_sets(PROBS, threshold, "raps", u=0.0, **raps))


# --- The guarantee on synthetic data -----------------------------------------------------------------


def random_splits(n_images: int, n_splits: int, seed: int) -> np.ndarray:
    """(n_splits, n_images): one random permutation of the images per row."""
    return np.argsort(np.random.default_rng(seed).random((n_splits, n_images)), axis=1)


@pytest.mark.parametrize("alpha", [0.1, 0.05])
@pytest.mark.parametrize("score", ["thr", "aps"])
def test_mean_coverage_over_random_splits_is_within_the_conformal_bounds(score: str, alpha: float) -> None:
    """1000 images (labels drawn from their probabilities) cut 2000 times at random into 200 calibration
    and 800 test images. The images are exchangeable, the scores continuous, so the expected coverage is
    ceil(201 (1 - alpha)) / 201, in [1 - alpha, 1 - alpha + 1/201]: the mean over splits must be within
    3 Monte-Carlo standard errors of that interval (an off-by-one rank moves it by 1/201 = 8 s.e.).
    Randomized APS: each image's u is drawn once and travels with it."""
    n_cal, n_splits = 200, 2000
    probs, labels = calibrated(1000, 21)
    u = np.random.default_rng(22).uniform(size=len(labels)) if score == "aps" else None
    calibration_scores = cp.true_label_scores(probs, labels, score, u=u)
    coverage = np.empty(n_splits)
    for i, order in enumerate(random_splits(len(labels), n_splits, 23)):
        cal, test = order[:n_cal], order[n_cal:]
        threshold = cp.quantile(calibration_scores[cal], alpha)
        sets = cp.prediction_sets(probs[test], threshold, score, u=None if u is None else u[test])
        coverage[i] = cp.coverage_terms(sets, labels[test]).mean()
    standard_error = coverage.std(ddof=1) / np.sqrt(n_splits)
    assert (
        1 - alpha - 3 * standard_error <= coverage.mean() <= 1 - alpha + 1 / (n_cal + 1) + 3 * standard_error
    )


def test_mondrian_covers_every_class_where_the_marginal_threshold_misses_the_hard_one() -> None:
    """Class-conditional (Mondrian) thresholds cover 1 - alpha within every true class (averaged over
    500 random splits, 3 s.e.); one marginal THR threshold covers 1 - alpha overall but not the class
    whose images have flat probabilities."""
    alpha, n_cal, n_splits, n_classes = 0.1, 1000, 500, 4
    probs, labels = logit_sample(2000, 31, n_classes=n_classes, hard=0)
    calibration_scores = cp.true_label_scores(probs, labels, "thr")
    mondrian, marginal = np.empty((n_splits, n_classes)), np.empty((n_splits, n_classes))
    for i, order in enumerate(random_splits(len(labels), n_splits, 32)):
        cal, test = order[:n_cal], order[n_cal:]
        per_class = cp.class_quantiles(calibration_scores[cal], labels[cal], alpha, n_classes)
        assert per_class.shape == (n_classes,)
        for coverage, threshold in (
            (mondrian, per_class),
            (marginal, cp.quantile(calibration_scores[cal], alpha)),
        ):
            covered = cp.coverage_terms(cp.prediction_sets(probs[test], threshold, "thr"), labels[test])
            coverage[i] = [covered[labels[test] == k].mean() for k in range(n_classes)]
    mean = {name: c.mean(axis=0) for name, c in (("mondrian", mondrian), ("marginal", marginal))}
    error = {
        name: 3 * c.std(axis=0, ddof=1) / np.sqrt(n_splits)
        for name, c in (("mondrian", mondrian), ("marginal", marginal))
    }
    assert np.all(mean["mondrian"] >= 1 - alpha - error["mondrian"]), mean["mondrian"]
    assert mean["marginal"][0] + error["marginal"][0] < 1 - alpha - 0.1, mean["marginal"]  # the hard class
    class_share = np.bincount(labels, minlength=n_classes) / len(labels)
    assert marginal.mean(axis=0) @ class_share >= 1 - alpha - 0.005  # the marginal guarantee still holds


# --- Definitions and edges ---------------------------------------------------------------------------


def test_scores_of_a_hand_computed_image() -> None:
    """probs (0.5, 0.3, 0.2), true label 2 (rank 3): thr 0.8; aps: mass above 0.8, plus u * 0.2."""
    probs, label = np.array([[0.5, 0.3, 0.2]]), np.array([2])
    assert cp.true_label_scores(probs, label, "thr")[0] == pytest.approx(0.8)
    assert cp.true_label_scores(probs, label, "aps")[0] == pytest.approx(1.0)
    assert cp.true_label_scores(probs, label, "aps", u=0.5)[0] == pytest.approx(0.9)
    assert cp.true_label_scores(probs, label, "aps", u=[0.0])[0] == pytest.approx(0.8)
    assert cp.true_label_scores(probs, label, "raps", u=0.5, lam=0.1, k_reg=1)[0] == pytest.approx(0.9 + 0.2)
    np.testing.assert_allclose(cp.label_scores(probs, "aps"), [[0.5, 0.8, 1.0]])
    np.testing.assert_allclose(cp.label_scores(probs, "raps", lam=0.1, k_reg=2), [[0.5, 0.8, 1.1]])


def test_the_image_whose_score_is_the_threshold_is_in_its_own_set() -> None:
    """No tolerance is needed: calibration and prediction scores come from the same arithmetic."""
    probs, labels = calibrated(300, 41)
    u = np.random.default_rng(42).uniform(size=300)
    for score, args in (
        ("thr", {}),
        ("aps", {"u": u}),
        ("aps", {}),
        ("raps", {"u": u, "lam": 0.1, "k_reg": 2}),
    ):
        scores = cp.true_label_scores(probs, labels, score, **args)
        threshold = cp.quantile(scores, 0.1)
        at = np.flatnonzero(scores == threshold)
        assert len(at) == 1
        sets = cp.prediction_sets(probs, threshold, score, **args)
        assert sets[at[0], labels[at[0]]]
        np.testing.assert_array_equal(cp.coverage_terms(sets, labels), scores <= threshold)


@pytest.mark.parametrize("score", cp.SCORES)
def test_an_alpha_too_small_for_n_gives_an_infinite_threshold_and_full_sets(score: str) -> None:
    probs, labels = calibrated(19, 51)
    scores = cp.true_label_scores(probs, labels, score)
    assert cp.quantile(scores, 0.05) == scores.max()  # ceil(20 * 0.95) = 19 = n: the largest score
    assert cp.quantile(scores, 0.04) == np.inf  # ceil(20 * 0.96) = 20 > n
    assert cp.prediction_sets(probs, np.inf, score).all()
    assert cp.quantile([], 0.5) == np.inf  # no calibration image at all (a class never seen)


def test_raps_without_penalty_is_aps() -> None:
    probs, _ = calibrated(200, 71)
    u = np.random.default_rng(72).uniform(size=200)
    for k_reg in (0, 1, 5):
        np.testing.assert_array_equal(
            cp.label_scores(probs, "raps", k_reg=k_reg), cp.label_scores(probs, "aps")
        )
        np.testing.assert_array_equal(
            cp.label_scores(probs, "raps", u=u, k_reg=k_reg), cp.label_scores(probs, "aps", u=u)
        )


def test_thr_sets_are_the_labels_with_probability_at_least_one_minus_the_threshold() -> None:
    probs, _ = calibrated(500, 81)
    for threshold in np.random.default_rng(82).uniform(size=20):  # off the probabilities' own grid
        np.testing.assert_array_equal(cp.prediction_sets(probs, threshold, "thr"), probs >= 1 - threshold)


def test_per_class_thresholds_apply_to_their_label() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    sets = cp.prediction_sets(probs, np.array([0.5, 0.5, 0.95]), "thr")  # 1 - p <= threshold[y]
    np.testing.assert_array_equal(sets, [[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(cp.set_sizes(sets), [2, 1])
    np.testing.assert_array_equal(cp.coverage_terms(sets, np.array([1, 2])), [0.0, 1.0])


def test_choose_raps_takes_k_reg_from_the_true_ranks_and_lambda_from_the_grid() -> None:
    probs, labels = calibrated(1000, 101)
    lam, k_reg = cp.choose_raps(probs, labels, 0.1, seed=3)
    # Angelopoulos et al.'s pick_kreg, written out: 0-based position of the true label, "higher" quantile, + 1.
    positions = np.array([np.flatnonzero(np.argsort(p)[::-1] == y)[0] for p, y in zip(probs, labels)])
    assert k_reg == np.quantile(positions, 0.9, method="higher") + 1 and k_reg >= 1
    assert lam in cp.RAPS_LAMBDAS and isinstance(k_reg, int)
    assert cp.choose_raps(probs, labels, 0.1, seed=3) == (lam, k_reg)  # deterministic for a seed
    assert cp.choose_raps(probs, labels, 0.1, lambdas=[0.3], seed=3) == (0.3, k_reg)
    # The documented choice, redone: halves of a default_rng(seed) permutation, then uniforms from it.
    rng = np.random.default_rng(3)
    order = rng.permutation(1000)
    first, second = order[:500], order[500:]
    u = rng.uniform(size=1000)
    sizes = []
    for grid_lam in cp.RAPS_LAMBDAS:
        raps = {"lam": grid_lam, "k_reg": k_reg}
        threshold = cp.quantile(
            cp.true_label_scores(probs[first], labels[first], "raps", u=u[first], **raps), 0.1
        )
        sizes.append(
            cp.set_sizes(cp.prediction_sets(probs[second], threshold, "raps", u=u[second], **raps)).mean()
        )
    assert lam == cp.RAPS_LAMBDAS[int(np.argmin(sizes))] and len(set(sizes)) > 1, sizes


def test_k_reg_is_the_higher_quantile_of_the_ranks_not_the_conformal_rank() -> None:
    """Ten images whose true labels have ranks 1..10, alpha 0.15: np.quantile(ranks, 0.85) falls between
    the 8th and 9th rank; "higher" (Angelopoulos et al.) gives 9, "lower" 8, the conformal
    ceil(11 * 0.85) = 10th rank (MAPIE's k_star) 10."""
    probs = np.tile(np.exp(-np.arange(10.0)) / np.exp(-np.arange(10.0)).sum(), (10, 1))
    assert cp.choose_raps(probs, np.arange(10), 0.15)[1] == 9


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cp.label_scores(np.ones(3) / 3, "thr"), "probs must be an \\(N, K\\) array"),
        (lambda: cp.label_scores(np.ones((3, 1)), "thr"), "probs must be an \\(N, K\\) array"),
        (lambda: cp.label_scores(np.array([[0.5, np.nan]]), "thr"), "probs must hold finite"),
        (lambda: cp.label_scores(np.array([[1.5, -0.5]]), "thr"), "probs must hold finite"),
        (lambda: cp.label_scores(np.eye(2), "lac"), "score must be one of"),
        (lambda: cp.label_scores(np.eye(2), "aps", lam=0.1), "lam and k_reg apply to score='raps' only"),
        (lambda: cp.label_scores(np.eye(2), "raps", lam=-1.0), "lam must be >= 0"),
        (lambda: cp.label_scores(np.eye(2), "aps", u=[0.5, 1.5]), "u must be"),
        (lambda: cp.true_label_scores(np.eye(2), np.array([0, 2]), "thr"), "labels must lie in \\[0, 2\\)"),
        (lambda: cp.true_label_scores(np.eye(2), np.array([0.0, 1.0]), "thr"), "labels must be 2 integer"),
        (lambda: cp.quantile([0.1, 0.2], 0.0), "alpha must lie in \\(0, 1\\)"),
        (lambda: cp.quantile([0.1, 0.2], 1.0), "alpha must lie in \\(0, 1\\)"),
        (lambda: cp.quantile([0.1, 0.2], float("nan")), "alpha must lie in \\(0, 1\\)"),
        (lambda: cp.quantile([[0.1, 0.2]], 0.1), "calibration_scores must be a 1-D"),
        (lambda: cp.prediction_sets(np.eye(2), np.zeros(3), "thr"), "threshold must be"),
        (lambda: cp.class_quantiles([0.1, 0.2], np.array([0, 3]), 0.1, 2), "calibration_labels must lie"),
        (lambda: cp.choose_raps(np.eye(2), np.array([0, 1]), 0.1, lambdas=[]), "lambdas must be"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- The intervals of the sets' coverage and size -----------------------------------------------------


def test_the_sets_intervals_stay_in_their_range_coverage_in_0_1_and_size_in_0_k() -> None:
    """Three instances covering nearly every image, their OOD sets nearly all full (K = 3): the intervals
    of coverage and OOD size would pass 1 and K; they are clipped there and marked, the test size's not."""
    rng = np.random.default_rng(5)
    n, k, sets = 300, 3, ood_sets()
    labels = rng.integers(0, k, n)
    weights = statistics.weight_matrices({"test": n, **{s: 100 for s in sets}}, 50, 6)
    masks = np.eye(k)[labels]
    images = sets_coverage.Images(labels, {}, {}, weights, masks, weights["test"] @ masks)
    covered = [np.ones(n), np.ones(n), (rng.random(n) > 0.12).astype(float)]
    runs = [
        {"covered": c, "size": rng.integers(1, k + 1, n).astype(float),
         "ood_sizes": {s: np.where(rng.random(100) < 0.15 * (i == 2), 1, k) for s in sets}}
        for i, c in enumerate(covered)
    ]  # fmt: skip
    tables, entry = sets_coverage.measure(runs, images, 0.95)
    for key, (lowest, highest) in {"coverage": (0.0, 1.0), f"{sets[0]}_mean_size": (0.0, k)}.items():
        free = statistics.summarize(tables[key], 0.95)
        assert free["high"] > highest  # what clipping is for
        assert entry[key] == {**free, "t_high": highest, "high": highest, "clipped": True}
        assert sets_coverage.table_bounds(key, k) == (lowest, highest)
    assert entry["mean_size"] == statistics.summarize(tables["mean_size"], 0.95)  # inside: unmarked
    assert all(entry[key]["high"] <= 1 for key in ("empty", "worst_class_coverage"))
    assert sets_coverage.seed_summary([0.999, 1.0, 0.98], 0.95, sets_coverage.SHARE)["t_high"] == 1.0
    with pytest.raises(KeyError, match="no range"):
        sets_coverage.table_bounds("full", k)
