"""The verdict statistics at their edges: known t-intervals, identical predictors, calibrated temperatures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from uncertainty import metrics
from uncertainty import verdicts as v


def test_t_interval_of_a_known_sample() -> None:
    # mean 3, sample std sqrt(2.5); t(0.975, df=4) = 2.7764451 -> half width 2.7764451 * 1.5811388 / sqrt(5)
    result = v.t_interval([1, 2, 3, 4, 5], 0.95)
    assert result["mean"] == 3 and result["std"] == pytest.approx(np.sqrt(2.5))
    assert result["low"] == pytest.approx(3 - 1.9632432, abs=1e-6)
    assert result["high"] == pytest.approx(3 + 1.9632432, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        v.t_interval([1.0])


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
    assert v.verdict(low, high, higher) == word


def test_directions() -> None:
    assert v.higher_is_better("accuracy") and v.higher_is_better("auroc_mnist")
    assert v.higher_is_better("misclassification_auroc_entropy")
    assert not any(v.higher_is_better(m) for m in ("nll", "brier", "ece", "max_prob_uniform_noise"))


def test_weighted_auroc_with_unit_weights_is_sklearns_and_ties_count_half() -> None:
    rng = np.random.default_rng(0)
    negative = rng.integers(0, 5, 200).astype(float)  # many ties
    positive = rng.integers(1, 7, 150).astype(float)
    expected = roc_auc_score(np.r_[np.zeros(200), np.ones(150)], np.r_[negative, positive])
    assert v.weighted_auroc(negative, positive)(np.ones(200), np.ones(150)) == pytest.approx(
        expected, abs=1e-12
    )
    # Integer weights equal repeating the images.
    w_neg, w_pos = rng.integers(0, 3, 200).astype(float), rng.integers(0, 3, 150).astype(float)
    repeated = roc_auc_score(
        np.r_[np.zeros(int(w_neg.sum())), np.ones(int(w_pos.sum()))],
        np.r_[np.repeat(negative, w_neg.astype(int)), np.repeat(positive, w_pos.astype(int))],
    )
    assert v.weighted_auroc(negative, positive)(w_neg, w_pos) == pytest.approx(repeated, abs=1e-12)


def test_weighted_ece_with_unit_weights_is_metrics_ece() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(10) * 0.3, 500)
    labels = rng.integers(0, 10, 500)
    index, gap = v.ece_parts(probs, labels, 15)
    assert v.weighted_ece(index, gap, np.ones(500), 15) == pytest.approx(
        metrics.ece(probs, labels, 15), abs=1e-12
    )


def calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(10) * 0.5, n)
    labels = np.array([rng.choice(10, p=p) for p in probs])
    return probs, labels


def test_calibrated_probabilities_get_temperature_near_one() -> None:
    probs, labels = calibrated(20000, 2)
    assert v.fit_temperature(probs, labels) == pytest.approx(1.0, abs=0.03)


def test_overconfident_probabilities_get_temperature_above_one() -> None:
    probs, labels = calibrated(20000, 3)
    sharpened = v.apply_temperature(probs, 0.5)  # what an overconfident model would say
    assert v.fit_temperature(sharpened, labels) == pytest.approx(2.0, rel=0.05)


def test_cross_fitting_scores_each_half_with_the_other_halfs_temperature() -> None:
    probs, labels = calibrated(2000, 4)
    split = v.halves(len(labels), 0)
    scaled, (t_a, t_b) = v.cross_fit_temperature(probs, labels, split)
    a, b = split
    np.testing.assert_allclose(scaled[a], v.apply_temperature(probs[a], t_b))
    np.testing.assert_allclose(scaled[b], v.apply_temperature(probs[b], t_a))
    assert sorted(np.r_[a, b].tolist()) == list(range(2000))


def predictor(probs: np.ndarray, labels: np.ndarray, seeds: int, noise: float, seed: int) -> list[v.Instance]:
    rng = np.random.default_rng(seed)
    out = []
    for s in range(seeds):
        p = probs + noise * rng.random(probs.shape)
        out.append(
            v.instance(
                f"s{s}", p / p.sum(1, keepdims=True), labels, 15, {"noise": rng.dirichlet(np.ones(10), 300)}
            )
        )
    return out


def test_identical_predictors_give_a_difference_interval_containing_zero() -> None:
    probs, labels = calibrated(1000, 5)
    same = predictor(probs, labels, 3, 0.05, 6)
    tables = v.replicates({"a": same, "b": same}, {"test": 1000, "noise": 300}, 200, 7)
    for metric in ("accuracy", "nll", "ece", "auroc_noise"):
        result = v.compare(tables["a"][metric], tables["b"][metric], metric, 0.95, 8)
        assert result["low"] <= 0 <= result["high"] and result["verdict"] == "indistinguishable", (
            metric,
            result,
        )
        assert result["difference"] == 0


def test_a_clearly_better_predictor_is_called_better_and_the_interval_covers_seeds() -> None:
    probs, labels = calibrated(1000, 9)
    sharp = np.eye(10)[labels] * 0.9 + 0.01  # right with 0.91
    good, bad = predictor(sharp, labels, 3, 0.0, 10), predictor(probs, labels, 3, 0.0, 11)
    tables = v.replicates({"good": good, "bad": bad}, {"test": 1000, "noise": 300}, 200, 12)
    assert (
        v.compare(tables["good"]["accuracy"], tables["bad"]["accuracy"], "accuracy", 0.95, 13)["verdict"]
        == "better"
    )
    assert v.compare(tables["good"]["nll"], tables["bad"]["nll"], "nll", 0.95, 13)["verdict"] == "better"
    # Seeds that disagree widen the interval beyond the image bootstrap alone.
    spread = predictor(probs, labels, 5, 3.0, 14)
    table = v.replicates({"x": spread}, {"test": 1000, "noise": 300}, 400, 15)["x"]["accuracy"]
    assert np.ptp(table[0]) > 0.01  # the seeds really differ
    summary = v.summarize(table, 0.95, 1)
    images_only = np.quantile(table[1:].mean(1), [0.025, 0.975])
    assert summary["high"] - summary["low"] > 1.5 * (images_only[1] - images_only[0])
    assert summary["t_low"] < summary["mean"] < summary["t_high"]
