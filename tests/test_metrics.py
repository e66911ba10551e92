"""Every metric against an independent computation: scikit-learn with non-unit weights, repeated rows, hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score, roc_curve

from uncertainty import metrics as m
from uncertainty.summaries import entropy, summarize_passes

LOG2 = math.log(2)


def sample(n: int = 400, k: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities, labels, and integer weights 0..4 (a bootstrap resample's counts look like these)."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k) * 0.4, n)
    labels = rng.integers(0, k, n)
    weights = rng.integers(0, 5, n).astype(np.float64)
    return probs, labels, weights


def repeated(weights: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each row repeated weights[i] times: a weighted metric must equal the plain metric on these."""
    index = np.repeat(np.arange(len(weights)), weights.astype(int))
    return [a[index] for a in arrays]


# --------------------------------------------------------------------------- weighted metrics against scikit-learn


def test_weighted_accuracy_nll_brier_equal_scikit_learn_with_the_same_sample_weight() -> None:
    probs, labels, weights = sample()
    assert m.accuracy(probs, labels, weights) == pytest.approx(
        accuracy_score(labels, probs.argmax(1), sample_weight=weights), abs=1e-12
    )
    assert m.nll(probs, labels, weights) == pytest.approx(
        log_loss(labels, probs, sample_weight=weights, labels=range(10)), rel=1e-9
    )
    onehot = np.eye(10)[labels]
    expected_brier = np.average(((probs - onehot) ** 2).sum(1), weights=weights)
    assert m.brier(probs, labels, weights) == pytest.approx(expected_brier, rel=1e-12)


def test_weighted_auroc_aupr_fpr95_equal_scikit_learn_with_the_same_sample_weight() -> None:
    rng = np.random.default_rng(1)
    score_in = np.round(rng.normal(0, 1, 300), 1)  # rounded: many ties, which count half
    score_out = np.round(rng.normal(0.7, 1, 200), 1)
    w_in, w_out = rng.integers(0, 4, 300).astype(float), rng.integers(1, 4, 200).astype(float)
    is_out = np.r_[np.zeros(300), np.ones(200)]
    score, weight = np.r_[score_in, score_out], np.r_[w_in, w_out]
    result = m.ood_metrics(score_in, score_out, w_in, w_out)
    assert result["auroc"] == pytest.approx(roc_auc_score(is_out, score, sample_weight=weight), abs=1e-12)
    assert result["aupr"] == pytest.approx(
        average_precision_score(is_out, score, sample_weight=weight), abs=1e-12
    )
    fpr, tpr, _ = roc_curve(is_out, score, sample_weight=weight)
    assert result["fpr95"] == pytest.approx(fpr[np.argmax(tpr >= 0.95)])
    assert m.ood_metrics(score_in, score_out)["auroc"] == pytest.approx(
        roc_auc_score(is_out, score), abs=1e-12
    )


def test_ece_and_reliability_bins_with_integer_weights_equal_the_repeated_rows() -> None:
    probs, labels, weights = sample(seed=2)
    rows, row_labels = repeated(weights, probs, labels)
    assert m.ece(probs, labels, 15, weights) == pytest.approx(m.ece(rows, row_labels, 15), abs=1e-12)
    weighted, plain = m.reliability_bins(probs, labels, 15, weights), m.reliability_bins(rows, row_labels, 15)
    for key in ("count", "accuracy", "confidence"):
        np.testing.assert_allclose(weighted[key], plain[key], atol=1e-12)


def test_ece_hand_case() -> None:
    # two images at confidence 0.9 (one right), one at 0.6 (right): |0.5 - 0.9| * 2/3 + |1 - 0.6| * 1/3
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]])
    labels = np.array([0, 1, 1])
    assert m.ece(probs, labels, 10) == pytest.approx(0.4 * 2 / 3 + 0.4 / 3)
    assert m.ece(probs, labels, 10, np.array([1.0, 0.0, 0.0])) == pytest.approx(
        0.1
    )  # one image, right at 0.9


def test_risk_coverage_with_integer_weights_equals_the_repeated_rows() -> None:
    rng = np.random.default_rng(3)
    score = rng.random(200)
    correct = rng.random(200) < 0.8
    weights = rng.integers(1, 4, 200).astype(float)  # >= 1: every row stays, so the curves align
    weighted = m.risk_coverage(score, correct, weights)
    rows_score, rows_correct = repeated(weights, score, correct)
    plain = m.risk_coverage(rows_score, rows_correct)
    order = np.argsort(score, kind="stable")
    ends = np.cumsum(weights[order]).astype(int) - 1  # the last copy of each row
    np.testing.assert_allclose(weighted["accuracy"], plain["accuracy"][ends], atol=1e-12)
    np.testing.assert_allclose(weighted["coverage"], plain["coverage"][ends], atol=1e-12)
    # The area is the step function's: each row's weight times the risk once all its copies are in.
    step_area = np.dot(weights[order], 1 - plain["accuracy"][ends]) / weights.sum()
    assert weighted["aurc"] == pytest.approx(step_area, rel=1e-12)
    assert m.risk_coverage(score, correct)["aurc"] == pytest.approx(
        np.mean(1 - m.risk_coverage(score, correct)["accuracy"])
    )
    assert m.accuracy_at_coverage(weighted, 1.0) == pytest.approx(np.average(correct, weights=weights))


# --------------------------------------------------------------------------- hand cases and edges


def test_nll_clips_a_zero_probability() -> None:
    assert m.nll(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(1e-12))
    assert m.nll(np.array([[0.5, 0.5]]), np.array([0])) == pytest.approx(LOG2)


def test_auroc_ties_count_half_and_separated_scores_give_one() -> None:
    assert m.auroc([0.0, 1.0], [1.0]) == pytest.approx(0.75)
    assert m.auroc([0.0, 0.1], [0.5, 0.9]) == 1.0
    assert m.Ranked([0.0, 0.1], [0.5, 0.9])(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 1.0


def test_misclassification_auroc_is_nan_when_no_answer_is_wrong() -> None:
    assert math.isnan(m.misclassification_auroc([0.1, 0.2], [True, True]))
    assert m.misclassification_auroc([0.1, 0.9], [True, False]) == 1.0


def test_uncertainty_scores_of_a_summary() -> None:
    passes = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two confident passes that disagree
    summary = summarize_passes(passes)
    scores = m.uncertainty_scores(
        summary, ("one_minus_max_prob", "entropy", "mutual_information", "variation_ratio")
    )
    assert scores["entropy"] == pytest.approx([LOG2])
    assert scores["mutual_information"] == pytest.approx([LOG2])  # all of it is disagreement
    assert scores["one_minus_max_prob"] == pytest.approx([0.5])
    assert scores["variation_ratio"] == pytest.approx([0.5])
    with pytest.raises(ValueError, match="unknown score 'nonsense'"):
        m.uncertainty_scores(summary, ("nonsense",))
    with pytest.raises(KeyError):  # one softmax has no spread to measure
        m.uncertainty_scores({"mean": summary["mean"]}, ("mutual_information",))
    # a score computed before (from logits or features) is read as it is, as float64
    read = m.uncertainty_scores({**summary, "energy": np.array([-3.0], np.float32)}, ("energy",))
    assert read["energy"].dtype == np.float64 and read["energy"].tolist() == [-3.0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: m.accuracy(np.ones((2, 2)) * 0.5, np.array([0, 2])), r"labels must lie in \[0, 1\]"),
        (lambda: m.accuracy(np.array([[0.5, np.nan]]), np.array([0])), "finite"),
        (lambda: m.accuracy(np.array([0.5, 0.5]), np.array([0])), "2-D array"),
        (lambda: m.nll(np.array([[0.5, 0.5]]), np.array([0.0])), "integer class indices"),
        (
            lambda: m.nll(np.array([[0.5, 0.5]]), np.array([0]), np.array([-1.0])),
            "weights must be finite, >= 0",
        ),
        (
            lambda: m.nll(np.array([[0.5, 0.5]]), np.array([0]), np.array([1.0, 1.0])),
            r"weights must have shape \(1,\)",
        ),
        (lambda: m.ece(np.array([[0.5, 0.5]]), np.array([0]), 0), "n_bins must be an integer >= 1"),
        (lambda: m.auroc([], [1.0]), "score_negative must be a non-empty"),
        (
            lambda: m.accuracy_at_coverage({"coverage": [1.0], "accuracy": [1.0]}, 0.0),
            r"coverage must be in \(0, 1\]",
        ),
        (lambda: m.roc_points([0.0], [1.0], 1), "max_points must be an integer >= 2"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_entropy_is_in_nats_with_zero_log_zero() -> None:
    np.testing.assert_allclose(entropy(np.array([[0.5, 0.5], [1.0, 0.0]])), [LOG2, 0.0])
