"""Tests for uncertainty.metrics: small hand-computed cases and the edges of each metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve

from uncertainty import metrics as m

LOG2 = math.log(2.0)


# --------------------------------------------------------------------------- predictive mean, accuracy


def test_predictive_mean_hand_case():
    passes = np.array([[[0.2, 0.8], [1.0, 0.0]], [[0.6, 0.4], [0.5, 0.5]]])
    np.testing.assert_allclose(m.predictive_mean(passes), [[0.4, 0.6], [0.75, 0.25]])


def test_predictive_mean_single_pass_is_identity():
    probs = np.array([[0.1, 0.9], [0.7, 0.3]])
    np.testing.assert_array_equal(m.predictive_mean(probs[None]), probs)


def test_accuracy_hand_case():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert m.accuracy(probs, np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_accuracy_all_correct_all_wrong_single_sample():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert m.accuracy(probs, np.array([0, 1])) == 1.0
    assert m.accuracy(probs, np.array([1, 0])) == 0.0
    assert m.accuracy(np.array([[0.3, 0.7]]), np.array([1])) == 1.0


# --------------------------------------------------------------------------- NLL


def test_nll_hand_case():
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    expected = (math.log(2.0) + math.log(4.0 / 3.0)) / 2
    assert m.nll(probs, np.array([0, 1])) == pytest.approx(expected, rel=1e-12)


def test_nll_from_passes_is_minus_log_of_mean_probability():
    # p_t(y) for input 0 is 0.1, 0.3, 0.8 -> p̄(y) = 0.4; input 1 has p_t(y) = 0.5, 0.5, 0.2 -> 0.4.
    passes = np.array(
        [
            [[0.1, 0.9], [0.5, 0.5]],
            [[0.3, 0.7], [0.5, 0.5]],
            [[0.8, 0.2], [0.8, 0.2]],
        ]
    )
    labels = np.array([0, 1])
    expected = -math.log(0.4)
    assert m.nll_from_passes(passes, labels) == pytest.approx(expected, rel=1e-12)
    # Not the mean of the per-pass NLLs, which is larger by Jensen's inequality.
    per_pass = -np.mean(np.log(passes[:, [0, 1], labels]))
    assert per_pass > expected + 0.1


def test_nll_equals_nll_from_single_pass():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(5), size=20)
    labels = rng.integers(0, 5, size=20)
    expected = -np.mean(np.log(probs[np.arange(20), labels]))
    assert m.nll(probs, labels) == pytest.approx(expected, rel=1e-12)
    assert m.nll_from_passes(probs[None], labels) == pytest.approx(expected, rel=1e-12)


def test_nll_zero_probability_is_finite_and_large():
    value = m.nll(np.array([[1.0, 0.0]]), np.array([1]))
    assert math.isfinite(value)
    assert value == pytest.approx(-math.log(1e-12))


def test_nll_from_passes_zero_in_one_pass_only():
    passes = np.array([[[1.0, 0.0]], [[0.5, 0.5]]])
    # p̄(y=1) = (0 + 0.5) / 2 = 0.25; the 1e-12 floor changes it negligibly.
    assert m.nll_from_passes(passes, np.array([1])) == pytest.approx(-math.log(0.25), rel=1e-9)


def test_nll_tiny_probabilities_stay_finite():
    passes = np.full((4, 1, 2), 1e-300)
    passes[:, :, 0] = 1.0
    assert m.nll_from_passes(passes, np.array([1])) == pytest.approx(-math.log(1e-12))


# --------------------------------------------------------------------------- Brier


def _random_probs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    logits = rng.normal(size=(n, k)) * 3
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_nll_and_brier_agree_with_scikit_learn_on_random_data():
    # scikit-learn's log_loss and multi-class Brier score compute the same quantities
    # (its log_loss clips at machine epsilon, ours at 1e-12: no probability here comes near either).
    rng = np.random.default_rng(3)
    probs = _random_probs(rng, 500, 10)
    labels = rng.integers(0, 10, 500)
    np.testing.assert_allclose(m.nll(probs, labels), log_loss(labels, probs, labels=range(10)), rtol=1e-12)
    np.testing.assert_allclose(
        m.brier(probs, labels), brier_score_loss(labels, probs, labels=range(10)), rtol=1e-12
    )


def test_entropy_agrees_with_scipy_stats_on_random_data():
    probs = _random_probs(np.random.default_rng(4), 200, 10)
    np.testing.assert_allclose(m.entropy(probs), scipy.stats.entropy(probs, axis=1), rtol=1e-12)


def test_brier_hand_case():
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    # label 0: 0.09 + 0.04 + 0.01 = 0.14; label 2: 0.49 + 0.04 + 0.81 = 1.34
    assert m.brier(probs, np.array([0, 2])) == pytest.approx(0.74)


def test_brier_range_edges():
    onehot = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert m.brier(onehot, np.array([0, 1])) == 0.0
    assert m.brier(onehot, np.array([1, 0])) == pytest.approx(2.0)


# --------------------------------------------------------------------------- reliability bins and ECE


def test_reliability_bins_edges_and_placement():
    probs = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],  # confidence exactly 0 -> first bin
            [0.25, 0.25, 0.25, 0.25],  # confidence 0.25, on an edge -> bin [0.25, 0.5)
            [0.1, 0.6, 0.2, 0.1],  # confidence 0.6 -> bin [0.5, 0.75)
            [1.0, 0.0, 0.0, 0.0],  # confidence exactly 1 -> last bin
        ]
    )
    labels = np.array([0, 0, 2, 0])  # correct, correct, wrong, correct
    bins = m.reliability_bins(probs, labels, n_bins=4)
    np.testing.assert_allclose(bins["edges"], [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(bins["count"], [1, 1, 1, 1])
    np.testing.assert_allclose(bins["accuracy"], [1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(bins["confidence"], [0.0, 0.25, 0.6, 1.0])
    assert m.ece(probs, labels, n_bins=4) == pytest.approx((1.0 + 0.75 + 0.6 + 0.0) / 4)


def test_reliability_bins_confidence_one_with_many_bins():
    bins = m.reliability_bins(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]), n_bins=15)
    assert bins["count"][-1] == 2
    assert bins["count"][:-1].sum() == 0
    assert bins["accuracy"][-1] == pytest.approx(0.5)


def test_reliability_bins_empty_bins_are_zero_not_nan():
    bins = m.reliability_bins(np.array([[0.9, 0.1]]), np.array([0]), n_bins=10)
    for key in ("accuracy", "confidence"):
        assert np.all(np.isfinite(bins[key]))
    assert bins["count"].sum() == 1
    assert bins["count"][9] == 1
    np.testing.assert_array_equal(np.nonzero(bins["confidence"])[0], [9])
    assert bins["confidence"][9] == pytest.approx(0.9)


def test_ece_hand_case():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    labels = np.array([0, 1, 1, 0])
    # 10 bins: bin 9 holds 0.9 (correct), 0.9 (wrong): acc 0.5, conf 0.9
    #          bin 6 holds 0.6 (correct): acc 1, conf 0.6; bin 7 holds 0.7 (wrong): acc 0, conf 0.7
    expected = 0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.7
    assert m.ece(probs, labels, n_bins=10) == pytest.approx(expected)


def test_ece_single_sample_all_correct_all_wrong():
    assert m.ece(np.array([[0.3, 0.7]]), np.array([1])) == pytest.approx(0.3)
    confident = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert m.ece(confident, np.array([0, 1])) == 0.0
    assert m.ece(confident, np.array([1, 0])) == pytest.approx(1.0)


def test_ece_one_bin_is_gap_between_accuracy_and_mean_confidence():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 0, 0])  # accuracy 2/3, mean confidence 0.766...
    assert m.ece(probs, labels, n_bins=1) == pytest.approx(abs(2 / 3 - (0.9 + 0.8 + 0.6) / 3))


# --------------------------------------------------------------------------- entropy, MI, variation ratio, interval


def test_entropy_uniform_is_log_k():
    for k in (2, 4, 10):
        np.testing.assert_allclose(m.entropy(np.full((3, k), 1.0 / k)), math.log(k), rtol=1e-12)


def test_entropy_zero_log_zero_and_hand_case():
    values = m.entropy(np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.75, 0.25, 0.0]]))
    expected_last = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    np.testing.assert_allclose(values, [0.0, LOG2, expected_last], rtol=1e-12)
    assert values[0] == 0.0


def test_expected_entropy_hand_case():
    passes = np.array([[[1.0, 0.0]], [[0.5, 0.5]]])
    np.testing.assert_allclose(m.expected_entropy(passes), [LOG2 / 2], rtol=1e-12)


def test_mutual_information_hand_case():
    passes = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    total = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # H[p̄] for p̄ = (0.75, 0.25)
    np.testing.assert_allclose(m.mutual_information(passes), [total - LOG2 / 2, LOG2], rtol=1e-12)


def test_mutual_information_single_pass_is_exactly_zero():
    rng = np.random.default_rng(2)
    passes = rng.dirichlet(np.ones(10), size=50)[None]
    mi = m.mutual_information(passes)
    assert mi.shape == (50,)
    np.testing.assert_array_equal(mi, np.zeros(50))


def test_mutual_information_identical_passes_clipped_at_zero():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=200)
    passes = np.stack([probs, probs, probs])
    # Without the clip, round-off makes some of these slightly negative.
    raw = m.entropy(passes.mean(axis=0)) - m.expected_entropy(passes)
    assert np.any(raw < 0)
    mi = m.mutual_information(passes)
    assert np.all(mi >= 0.0)
    np.testing.assert_allclose(mi, 0.0, atol=1e-12)


def test_variation_ratio_hand_case():
    # Per-pass argmaxes for input 0: 0, 0, 1, 2 -> modal count 2 -> 1 - 2/4.
    # Input 1: all four passes vote class 1 -> 0.
    passes = np.array(
        [
            [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]],
            [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]],
            [[0.1, 0.8, 0.1], [0.3, 0.4, 0.3]],
            [[0.1, 0.1, 0.8], [0.0, 1.0, 0.0]],
        ]
    )
    np.testing.assert_allclose(m.variation_ratio(passes), [0.5, 0.0])


def test_variation_ratio_single_pass_is_zero():
    rng = np.random.default_rng(3)
    passes = rng.dirichlet(np.ones(4), size=10)[None]
    np.testing.assert_array_equal(m.variation_ratio(passes), np.zeros(10))


def test_interval_width_hand_case():
    top = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    passes = np.stack([top, 1.0 - top], axis=-1)[:, None, :]  # (5, 1, 2); p̄ top class is 0
    # Linear interpolation on sorted (0.5 .. 0.9): 2.5% -> 0.51, 97.5% -> 0.89.
    np.testing.assert_allclose(m.interval_width(passes), [0.38], rtol=1e-12)
    np.testing.assert_allclose(m.interval_width(passes, low=0.0, high=100.0), [0.4], rtol=1e-12)


def test_interval_width_uses_top_class_of_mean():
    # p̄ = (0.3, 0.433, 0.267): top class 1, whose values over passes are 0.1, 0.6, 0.6.
    # (Class 0 has the largest single value, 0.9; the per-pass maxima would be 0.9, 0.6, 0.6.)
    passes = np.array([[[0.9, 0.1, 0.0]], [[0.0, 0.6, 0.4]], [[0.0, 0.6, 0.4]]])
    np.testing.assert_allclose(m.interval_width(passes, low=0.0, high=100.0), [0.5], rtol=1e-12)


def test_interval_width_single_pass_is_zero():
    np.testing.assert_array_equal(m.interval_width(np.array([[[0.3, 0.7], [0.6, 0.4]]])), [0.0, 0.0])


def test_uncertainty_scores_keys_and_values():
    passes = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]])
    scores = m.uncertainty_scores(passes)
    assert set(scores) == {
        "one_minus_max_prob",
        "entropy",
        "mutual_information",
        "variation_ratio",
        "interval_width",
    }
    for value in scores.values():
        assert value.shape == (2,)
    np.testing.assert_allclose(scores["one_minus_max_prob"], [0.25, 0.5])
    np.testing.assert_allclose(scores["entropy"], m.entropy(m.predictive_mean(passes)))
    np.testing.assert_allclose(scores["entropy"][1], LOG2)
    np.testing.assert_allclose(scores["mutual_information"], m.mutual_information(passes))
    assert scores["mutual_information"][0] > 0.0
    np.testing.assert_allclose(scores["variation_ratio"], [0.0, 0.0])  # argmax ties go to class 0
    np.testing.assert_allclose(scores["interval_width"], m.interval_width(passes))
    assert scores["interval_width"][0] == pytest.approx(0.5 * 0.95)


# --------------------------------------------------------------------------- OOD detection


def test_ood_metrics_hand_case():
    result = m.ood_metrics(np.array([0.1, 0.4]), np.array([0.35, 0.8]))
    # Out beats in in 3 of 4 pairs. Ranked: 0.8 out, 0.4 in, 0.35 out, 0.1 in ->
    # AP = 0.5 * 1 + 0.5 * 2/3.
    assert result["auroc"] == pytest.approx(0.75)
    assert result["aupr"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert result["n_in"] == 2 and result["n_out"] == 2
    assert isinstance(result["auroc"], float) and isinstance(result["n_in"], int)


def test_ood_metrics_match_sklearn_and_pairwise_auroc_on_random_data():
    rng = np.random.default_rng(4)
    score_in = rng.normal(0.0, 1.0, size=300)
    score_out = rng.normal(0.7, 1.0, size=200)
    result = m.ood_metrics(score_in, score_out)
    y = np.r_[np.zeros(300), np.ones(200)]
    s = np.r_[score_in, score_out]
    assert result["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert result["aupr"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    pairwise = np.mean(score_out[:, None] > score_in[None, :])
    assert result["auroc"] == pytest.approx(pairwise, abs=1e-12)
    assert result["auroc"] > 0.6
    assert result["n_in"] == 300 and result["n_out"] == 200


def test_ood_metrics_perfect_separation():
    result = m.ood_metrics(np.array([0.0, 0.1, 0.2]), np.array([0.5, 0.9]))
    assert result["auroc"] == 1.0
    assert result["aupr"] == 1.0
    assert result["fpr95"] == 0.0


def test_ood_metrics_reversed_scores():
    result = m.ood_metrics(np.array([0.5, 0.9]), np.array([0.0, 0.1, 0.2]))
    assert result["auroc"] == 0.0
    assert result["fpr95"] == 1.0


def test_fpr95_hand_case():
    # 19 of 20 out-scores lie in [0.55, 0.99]; one is 0.05. Lowering the threshold to 0.55
    # reaches TPR = 19/20 = 0.95 and lets through the in-scores 0.6 and 0.8: FPR = 2/4.
    score_out = np.r_[np.linspace(0.55, 0.99, 19), 0.05]
    score_in = np.array([0.1, 0.2, 0.6, 0.8])
    assert m.ood_metrics(score_in, score_out)["fpr95"] == pytest.approx(0.5)


def test_fpr95_needs_all_positives_when_095_is_not_hit_exactly():
    # With 10 out-scores, TPR jumps from 0.9 to 1.0: the lowest out-score 0.3 sets the threshold.
    score_out = np.r_[np.linspace(0.6, 0.9, 9), 0.3]
    score_in = np.array([0.1, 0.35, 0.4, 0.7])
    assert m.ood_metrics(score_in, score_out)["fpr95"] == pytest.approx(0.75)


def test_fpr95_with_tied_in_and_out_scores():
    # Every out-score is tied with one in-score, so the ROC curve is the diagonal and
    # TPR = 0.95 is first reached at FPR = 0.95 (not at the curve's last point).
    scores = np.arange(20.0)
    assert m.ood_metrics(scores, scores)["fpr95"] == pytest.approx(0.95)


def test_ood_metrics_empty_set_raises():
    with pytest.raises(ValueError, match="score_in"):
        m.ood_metrics(np.array([]), np.array([0.5]))
    with pytest.raises(ValueError, match="score_out"):
        m.ood_metrics(np.array([0.5]), np.array([]))


def test_roc_points_downsampled_keeps_ends():
    rng = np.random.default_rng(5)
    score_in = rng.normal(0.0, 1.0, size=2000)
    score_out = rng.normal(1.0, 1.0, size=2000)
    full_fpr, _, _ = roc_curve(np.r_[np.zeros(2000), np.ones(2000)], np.r_[score_in, score_out])
    assert full_fpr.shape[0] > 50
    fpr, tpr = m.roc_points(score_in, score_out, max_points=50)
    assert 2 <= fpr.shape[0] <= 50 and fpr.shape == tpr.shape
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_roc_points_small_input_not_downsampled():
    score_in, score_out = np.array([0.1, 0.4]), np.array([0.35, 0.8])
    expected_fpr, expected_tpr, _ = roc_curve([0, 0, 1, 1], np.r_[score_in, score_out])
    fpr, tpr = m.roc_points(score_in, score_out)
    np.testing.assert_array_equal(fpr, expected_fpr)
    np.testing.assert_array_equal(tpr, expected_tpr)


def test_roc_points_rejects_too_few_points():
    with pytest.raises(ValueError, match="max_points"):
        m.roc_points(np.array([0.1]), np.array([0.9]), max_points=1)


# --------------------------------------------------------------------------- risk-coverage


def test_risk_coverage_hand_case_with_stable_ties():
    score = np.array([0.3, 0.1, 0.2, 0.1])
    correct = np.array([True, False, True, True])
    # Stable order: input 1 (0.1, wrong), input 3 (0.1, right), input 2, input 0.
    curve = m.risk_coverage(score, correct)
    np.testing.assert_allclose(curve["coverage"], [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve["accuracy"], [0.0, 0.5, 2 / 3, 0.75])
    assert curve["aurc"] == pytest.approx((1.0 + 0.5 + 1 / 3 + 0.25) / 4)
    assert isinstance(curve["aurc"], float)


def test_risk_coverage_many_ties_keep_input_order():
    rng = np.random.default_rng(6)
    score = rng.integers(0, 3, size=500).astype(float)
    correct = rng.random(500) < 0.5
    order = sorted(range(500), key=lambda i: score[i])  # Python's sort is stable
    expected = np.cumsum(correct[order]) / np.arange(1, 501)
    np.testing.assert_array_equal(m.risk_coverage(score, correct)["accuracy"], expected)


def test_risk_coverage_all_correct_all_wrong_single_sample():
    score = np.array([0.2, 0.9, 0.5])
    assert m.risk_coverage(score, np.ones(3, dtype=bool))["aurc"] == 0.0
    assert m.risk_coverage(score, np.zeros(3, dtype=bool))["aurc"] == 1.0
    single = m.risk_coverage(np.array([0.4]), np.array([1]))
    np.testing.assert_allclose(single["coverage"], [1.0])
    np.testing.assert_allclose(single["accuracy"], [1.0])


def test_accuracy_at_coverage():
    curve = m.risk_coverage(np.array([0.3, 0.1, 0.2, 0.1]), np.array([True, False, True, True]))
    assert m.accuracy_at_coverage(curve, 0.5) == pytest.approx(0.5)
    assert m.accuracy_at_coverage(curve, 0.6) == pytest.approx(2 / 3)
    assert m.accuracy_at_coverage(curve, 0.1) == 0.0
    assert m.accuracy_at_coverage(curve, 1.0) == pytest.approx(0.75)
    ten = m.risk_coverage(np.arange(10.0), np.r_[np.ones(3), np.zeros(7)].astype(bool))
    assert m.accuracy_at_coverage(ten, 0.1 * 3) == 1.0  # 0.30000000000000004 still picks k = 3
    assert m.accuracy_at_coverage(ten, 0.4) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="coverage"):
        m.accuracy_at_coverage(curve, 0.0)
    with pytest.raises(ValueError, match="coverage"):
        m.accuracy_at_coverage(curve, 1.5)


def test_risk_coverage_bad_input_raises():
    with pytest.raises(ValueError, match="length"):
        m.risk_coverage(np.array([0.1, 0.2]), np.array([True]))
    with pytest.raises(ValueError, match="booleans"):
        m.risk_coverage(np.array([0.1, 0.2]), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        m.risk_coverage(np.array([]), np.array([], dtype=bool))


# --------------------------------------------------------------------------- validation


def test_passes_must_be_3d():
    with pytest.raises(ValueError, match="3-D"):
        m.predictive_mean(np.full((4, 3), 0.25))
    with pytest.raises(ValueError, match="3-D"):
        m.mutual_information(np.full((2, 4, 3, 1), 0.25))


def test_zero_passes_raises():
    with pytest.raises(ValueError, match="T >= 1"):
        m.uncertainty_scores(np.zeros((0, 5, 3)))


def test_probs_must_be_2d():
    with pytest.raises(ValueError, match="2-D"):
        m.entropy(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="2-D"):
        m.accuracy(np.full((1, 2, 2), 0.5), np.array([0, 1]))


def test_labels_length_mismatch_raises():
    probs = np.array([[0.5, 0.5], [0.1, 0.9]])
    with pytest.raises(ValueError, match="length 3"):
        m.nll(probs, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="length 1"):
        m.nll_from_passes(probs[None], np.array([0]))


def test_bad_label_values_raise():
    probs = np.array([[0.5, 0.5], [0.1, 0.9]])
    with pytest.raises(ValueError, match="lie in"):
        m.brier(probs, np.array([0, 2]))
    with pytest.raises(ValueError, match="lie in"):
        m.accuracy(probs, np.array([-1, 0]))
    with pytest.raises(ValueError, match="integer"):
        m.brier(probs, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        m.brier(probs, np.array([[0], [1]]))


def test_bad_probability_values_raise():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.entropy(np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match="finite"):
        m.predictive_mean(np.array([[[np.nan, 1.0]]]))


def test_n_bins_below_one_raises():
    probs, labels = np.array([[0.5, 0.5]]), np.array([0])
    with pytest.raises(ValueError, match="n_bins"):
        m.ece(probs, labels, n_bins=0)
    with pytest.raises(ValueError, match="n_bins"):
        m.reliability_bins(probs, labels, n_bins=-3)
    with pytest.raises(ValueError, match="n_bins"):
        m.reliability_bins(probs, labels, n_bins=2.5)


def test_interval_width_bad_percentiles_raise():
    passes = np.full((3, 2, 2), 0.5)
    with pytest.raises(ValueError, match="low"):
        m.interval_width(passes, low=90.0, high=10.0)
    with pytest.raises(ValueError, match="low"):
        m.interval_width(passes, low=-1.0, high=50.0)
