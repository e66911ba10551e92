"""Every metric against an independent computation: scikit-learn with non-unit weights, repeated rows, hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score, roc_curve

from uncertainty.evaluation import metrics as m
from uncertainty.models.summaries import entropy, summarize_passes

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


def naive_adaptive_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int, weights=None) -> float:
    """Loop over the images by rank, filling n_bins bins of N // B images, the first N % B one larger."""
    n = len(labels)
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    confidence = [max(row) for row in probs.tolist()]
    correct = [float(list(row).index(max(row)) == y) for row, y in zip(probs.tolist(), labels.tolist())]
    ranked = sorted(range(n), key=lambda i: confidence[i])  # Python's sort is stable
    sizes = [n // n_bins + (1 if b < n % n_bins else 0) for b in range(n_bins)]
    total, position, ece = sum(w), 0, 0.0
    for size in sizes:
        members = ranked[position : position + size]
        position += size
        mass = sum(w[i] for i in members)
        if mass > 0:
            acc = sum(w[i] * correct[i] for i in members) / mass
            conf = sum(w[i] * confidence[i] for i in members) / mass
            ece += mass / total * abs(acc - conf)
    return ece


def naive_selective(score: np.ndarray, correct: np.ndarray, weights=None) -> list[tuple[float, float, float]]:
    """(coverage, selective risk, generalized risk) after each input kept, most certain first."""
    w = [1.0] * len(score) if weights is None else [float(x) for x in weights]
    total, kept, wrong, points = sum(w), 0.0, 0.0, []
    for i in sorted(range(len(score)), key=lambda i: score[i]):
        kept += w[i]
        wrong += w[i] * (not correct[i])
        points.append((kept / total, wrong / kept if kept > 0 else 1.0, wrong / total))
    return points


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
    generalized = (1 - plain["accuracy"]) * plain["coverage"]  # kept and wrong, as a share of all
    step_area = np.dot(weights[order], generalized[ends]) / weights.sum()
    assert weighted["augrc"] == pytest.approx(step_area, rel=1e-12)
    assert m.risk_coverage(score, correct)["aurc"] == pytest.approx(
        np.mean(1 - m.risk_coverage(score, correct)["accuracy"])
    )
    assert m.accuracy_at_coverage(weighted, 1.0) == pytest.approx(np.average(correct, weights=weights))


# --------------------------------------------------------------------------- adaptive ECE


@pytest.mark.parametrize("n_bins", [1, 7, 15, 400, 1000])
def test_adaptive_ece_equals_a_naive_loop_and_the_equal_mass_definition(n_bins: int) -> None:
    probs, labels, weights = sample(seed=4)
    assert m.adaptive_ece(probs, labels, n_bins) == pytest.approx(
        naive_adaptive_ece(probs, labels, n_bins), abs=1e-12
    )
    assert m.adaptive_ece(probs, labels, n_bins, weights) == pytest.approx(
        naive_adaptive_ece(probs, labels, n_bins, weights), abs=1e-12
    )
    # Σ_b (n_b / N)·|acc_b − conf_b| over np.array_split of the images sorted by confidence
    confidence, correct = probs.max(1), (probs.argmax(1) == labels).astype(float)
    order = np.argsort(confidence, kind="stable")
    definition = sum(
        len(b) / len(labels) * abs(correct[b].mean() - confidence[b].mean())
        for b in np.array_split(order, n_bins)
        if len(b)
    )
    assert m.adaptive_ece(probs, labels, n_bins) == pytest.approx(definition, abs=1e-12)


def test_adaptive_ece_parts_are_equal_count_bins_in_confidence_order() -> None:
    probs, labels, _ = sample(n=103, seed=5)
    index, gap = m.adaptive_ece_parts(probs, labels, 10)
    assert index.dtype == np.int64 and gap.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(index, minlength=10), [11, 11, 11] + [10] * 7)
    confidence = probs.max(1)
    assert np.all(np.diff(index[np.argsort(confidence, kind="stable")]) >= 0)
    np.testing.assert_allclose(gap, (probs.argmax(1) == labels) - confidence, atol=1e-15)


def test_adaptive_ece_with_integer_weights_equals_the_repeated_rows_in_the_full_samples_bins() -> None:
    probs, labels, weights = sample(seed=6)
    index, _ = m.adaptive_ece_parts(probs, labels, 15)
    rows, row_labels, row_bins = repeated(weights, probs, labels, index)
    confidence, correct = rows.max(1), (rows.argmax(1) == row_labels).astype(float)
    expected = sum(
        (row_bins == b).sum()
        / len(rows)
        * abs(correct[row_bins == b].mean() - confidence[row_bins == b].mean())
        for b in range(15)
        if (row_bins == b).any()
    )
    assert m.adaptive_ece(probs, labels, 15, weights) == pytest.approx(expected, abs=1e-12)


def test_adaptive_ece_hand_cases_and_edges() -> None:
    # confidences 0.6 (wrong), 0.7 (right), 0.8 (wrong), 0.9 (right), two per bin:
    # |(-0.6 + 0.3)| / 4 + |(-0.8 + 0.1)| / 4
    probs = np.array([[0.6, 0.4], [0.7, 0.3], [0.8, 0.2], [0.9, 0.1]])
    labels = np.array([1, 0, 1, 0])
    assert m.adaptive_ece(probs, labels, 2) == pytest.approx(0.25)
    # a weight of 0 keeps its image's bin: (0.3 + 0.7) / 3, where re-binning the three gives 0.2
    assert m.adaptive_ece(probs, labels, 2, np.array([0.0, 1, 1, 1])) == pytest.approx(1 / 3)
    assert m.adaptive_ece(probs[1:], labels[1:], 2) == pytest.approx(0.2)
    # one bin: |accuracy − mean confidence|; one image per bin, or more bins than images (the
    # rest stay empty): the mean |correct − confidence|
    assert m.adaptive_ece(probs, labels, 1) == pytest.approx(abs(0.5 - 0.75))
    per_image = np.mean([0.6, 0.3, 0.8, 0.1])
    assert m.adaptive_ece(probs, labels, 4) == pytest.approx(per_image)
    assert m.adaptive_ece(probs, labels, 9) == pytest.approx(per_image)
    index, _ = m.adaptive_ece_parts(probs, labels, 9)
    np.testing.assert_array_equal(index, [0, 1, 2, 3])
    # tied confidences keep their input order (stable sort)
    tied = np.array([[0.8, 0.2], [0.8, 0.2], [0.8, 0.2]])
    np.testing.assert_array_equal(m.adaptive_ece_parts(tied, np.array([0, 1, 0]), 2)[0], [0, 0, 1])
    assert m.adaptive_ece(tied, np.array([0, 1, 0]), 2) == pytest.approx(abs(0.5 - 0.8) * 2 / 3 + 0.2 / 3)
    assert m.adaptive_ece(np.array([[0.3, 0.7]]), np.array([1]), 15) == pytest.approx(0.3)


# --------------------------------------------------------------------------- AUGRC


def test_augrc_equals_a_naive_loop_and_the_auroc_identity() -> None:
    rng = np.random.default_rng(7)
    score = rng.random(300)  # continuous: no ties
    correct = rng.random(300) < 0.7
    weights = rng.integers(0, 5, 300).astype(float)
    for w in (None, weights):
        naive = naive_selective(score, correct, w)
        coverage = [0.0] + [c for c, _, _ in naive]
        expected = sum((c - before) * g for before, (c, _, g) in zip(coverage, naive))
        assert m.risk_coverage(score, correct, w)["augrc"] == pytest.approx(expected, abs=1e-12)
    # Each wrong input j adds w_j·(weight kept from j on) / W²: the correct inputs ranked after it
    # (misranked pairs, 1 − AUROC of telling wrong answers by the score) and the wrong ones from j on.
    is_wrong, total = ~correct, weights.sum()
    error = weights[is_wrong].sum() / total
    auroc = roc_auc_score(is_wrong, score, sample_weight=weights)
    identity = (
        (1 - auroc) * error * (1 - error) + error**2 / 2 + (weights[is_wrong] ** 2).sum() / (2 * total**2)
    )
    assert m.risk_coverage(score, correct, weights)["augrc"] == pytest.approx(identity, abs=1e-12)


def test_augrc_against_torch_uncertaintys_trapezoid() -> None:
    # torch-uncertainty's AUGRC (tie-free scores: its descending sort is not stable): errors sorted
    # by confidence, descending; the trapezoid of g_k = error_rate_k·coverage_k over coverage k/N,
    # k = 1..N, divided by 1 − 1/N. Ours is the right Riemann sum (1/N)·Σ_k g_k: the two differ by
    # the end terms only, so by O(1/N).
    rng = np.random.default_rng(8)
    for n in (2, 10, 5000):
        score = rng.random(n)
        errors = (rng.random(n) < 0.2).astype(float)
        confidence = -score  # higher = more certain
        sorted_errors = errors[np.argsort(confidence)[::-1]]
        coverage = np.arange(1, n + 1) / n
        g = np.cumsum(sorted_errors) / np.arange(1, n + 1) * coverage
        theirs = np.trapezoid(g, coverage) / (1 - 1 / n)
        ours = m.risk_coverage(score, errors == 0)["augrc"]
        assert ours == pytest.approx(theirs * (1 - 1 / n) + (g[0] + g[-1]) / (2 * n), abs=1e-12)
        if n == 5000:
            assert ours == pytest.approx(theirs, abs=2 / n)


def test_augrc_hand_cases() -> None:
    # kept wrong share after 1, 2, 3 inputs: 0, 1/3, 1/3
    curve = m.risk_coverage([0.1, 0.2, 0.3], [True, False, True])
    assert curve["augrc"] == pytest.approx(2 / 9)
    assert curve["aurc"] == pytest.approx((0 + 1 / 2 + 1 / 3) / 3)
    assert m.risk_coverage([0.3, 0.1, 0.2], [1, 1, 1])["augrc"] == 0.0
    assert m.risk_coverage([0.3, 0.1, 0.2, 0.4], [0, 0, 0, 0])["augrc"] == pytest.approx((1 + 2 + 3 + 4) / 16)
    # ties are not grouped: tied inputs enter in input order
    assert m.risk_coverage([0.5, 0.5], [False, True])["augrc"] == pytest.approx(1 / 2)
    assert m.risk_coverage([0.5, 0.5], [True, False])["augrc"] == pytest.approx(1 / 4)
    # W = 4, the wrong input weighs 2: Σ_k (w_k / W)·(kept wrong weight / W) = 0 + 2/4·2/4 + 1/4·2/4
    weighted = m.risk_coverage([0.1, 0.2, 0.3], [True, False, True], np.array([1.0, 2.0, 1.0]))
    assert weighted["augrc"] == pytest.approx(1 / 4 * 0 + 2 / 4 * 2 / 4 + 1 / 4 * 2 / 4)


# --------------------------------------------------------------------------- coverage at risk


def test_coverage_at_risk_hand_cases() -> None:
    assert m.coverage_at_risk(m.risk_coverage([0.2, 0.1, 0.3], [1, 1, 1])) == 1.0
    assert m.coverage_at_risk(m.risk_coverage([0.2, 0.1, 0.3], [1, 1, 1]), 0.0) == 1.0
    assert m.coverage_at_risk(m.risk_coverage([0.2, 0.1, 0.3], [0, 0, 0])) == 0.0
    # 19 right, then 2 wrong: 1 wrong in 20 is a risk of 0.05 (1 − 19/20 is 0.05 + 4e-17)
    score, correct = np.arange(21.0), np.array([1] * 19 + [0, 0])
    curve = m.risk_coverage(score, correct)
    assert m.coverage_at_risk(curve) == pytest.approx(20 / 21)
    assert m.coverage_at_risk(curve, 0.0) == pytest.approx(19 / 21)
    assert m.coverage_at_risk(curve, 0.1) == 1.0
    # the risk falls after a first wrong answer: the largest qualifying coverage, not the first
    assert m.coverage_at_risk(m.risk_coverage(np.arange(20.0), [0] + [1] * 19)) == 1.0
    assert m.coverage_at_risk(m.risk_coverage([0.1, 0.2], [0, 1])) == 0.0
    # weights: a weight of 0 on the wrong answer hides it
    weighted = m.risk_coverage([0.1, 0.2, 0.3], [1, 0, 1], np.array([1.0, 0.0, 1.0]))
    assert m.coverage_at_risk(weighted, 0.0) == 1.0


def test_coverage_at_risk_equals_a_naive_loop() -> None:
    rng = np.random.default_rng(9)
    score = np.round(rng.random(500), 2)  # with ties
    correct = rng.random(500) < np.linspace(0.99, 0.6, 500)[np.argsort(np.argsort(score))]
    weights = rng.integers(0, 4, 500).astype(float)
    for w in (None, weights):
        curve = m.risk_coverage(score, correct, w)
        points = naive_selective(score, correct, w)
        for risk in (0.0, 0.01, 0.05, 0.1, 0.3, 0.9):
            expected = max([c for c, r, _ in points if r <= risk + 1e-12], default=0.0)
            assert m.coverage_at_risk(curve, risk) == pytest.approx(expected, abs=1e-12)


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
        (lambda: m.adaptive_ece(np.array([[0.5, 0.5]]), np.array([0]), 0), "n_bins must be an integer >= 1"),
        (lambda: m.adaptive_ece(np.array([[0.5, 0.5]]), np.array([0]), 2.0), "n_bins must be an integer"),
        (lambda: m.adaptive_ece_parts(np.array([[0.5, 0.5]]), np.array([2]), 2), r"labels must lie in"),
        (
            lambda: m.adaptive_ece(np.array([[0.5, 0.5]]), np.array([0]), 2, np.array([0.0])),
            "weights must be finite, >= 0 and not all 0",
        ),
        (lambda: m.risk_coverage([0.1, 0.2], [1, 0], np.array([1.0])), r"weights must have shape \(2,\)"),
        (
            lambda: m.coverage_at_risk({"coverage": [1.0], "accuracy": [1.0]}, 1.0),
            r"risk must be a number in \[0, 1\)",
        ),
        (
            lambda: m.coverage_at_risk({"coverage": [1.0], "accuracy": [1.0]}, -0.1),
            r"risk must be a number in \[0, 1\)",
        ),
        (
            lambda: m.coverage_at_risk({"coverage": [1.0], "accuracy": [1.0]}, math.nan),
            r"risk must be a number",
        ),
        (lambda: m.coverage_at_risk({"coverage": [1.0], "accuracy": [1.0]}, True), r"risk must be a number"),
        (
            lambda: m.coverage_at_risk({"coverage": [1.0], "accuracy": [1.0]}, "0.05"),
            r"risk must be a number",
        ),
        (
            lambda: m.coverage_at_risk({"coverage": [], "accuracy": []}),
            "curve must be a risk_coverage result",
        ),
    ],
)
def test_bad_input_is_a_value_error_naming_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_entropy_is_in_nats_with_zero_log_zero() -> None:
    np.testing.assert_allclose(entropy(np.array([[0.5, 0.5], [1.0, 0.0]])), [LOG2, 0.0])


def test_selective_shares_one_curve_per_weights_array() -> None:
    """AURC, AUGRC and the coverage at a risk of one resample read one curve; new weights, a new one."""
    rng = np.random.default_rng(3)
    ones, counts = np.ones(50), rng.multinomial(50, np.ones(50) / 50).astype(np.float64)
    score, correct = rng.random(50), rng.random(50) < 0.8
    selective = m.Selective(score, correct)
    first = selective.curve(ones)
    assert selective.curve(ones) is first  # the same array: the same curve
    expected = m.risk_coverage(score, correct, counts)
    assert {k: selective.curve(counts)[k] for k in ("aurc", "augrc")} == {
        k: expected[k] for k in ("aurc", "augrc")
    }
    assert selective.statistic("augrc", ones) == m.risk_coverage(score, correct)["augrc"]  # recomputed
