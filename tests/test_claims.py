"""The article's claims in three words: held, contradicted, undecided, each from its interval."""

from __future__ import annotations

import pytest

from uncertainty.core.params import read_params
from uncertainty.core.schema.params import SECTIONS
from uncertainty.evaluation.claims import CLAIMS, WORDS, decide_all, three_way


@pytest.mark.parametrize(
    ("low", "high", "positive", "word"),
    [
        (0.01, 0.02, True, "held"),
        (0.01, 0.02, False, "contradicted"),
        (-0.02, -0.01, False, "held"),
        (-0.02, -0.01, True, "contradicted"),
        (-0.01, 0.02, True, "undecided"),
        (0.0, 0.02, True, "undecided"),  # an interval touching 0 decides nothing
    ],
)
def test_three_way(low: float, high: float, positive: bool, word: str) -> None:
    assert three_way(low, high, positive) == word


def interval(low: float, high: float) -> dict[str, float]:
    return {"mean": (low + high) / 2, "difference": (low + high) / 2, "low": low, "high": high}


def test_each_claim_gets_one_of_three_words_from_the_metrics_files() -> None:
    params = read_params(SECTIONS)
    metrics = {
        "regression": {"spread_at_15": 1.0, "spread_at_35": 3.0},
        "mc_batch": {"accuracy_plain": 0.875, "accuracy_mc_median": 0.867},
        "seeds": {
            "plain": {"max_prob": {"uniform_noise": interval(0.7, 0.8)}},
            "mc_dropout": {
                "max_prob": {"uniform_noise": interval(0.5, 0.6)},
                "misclassification_auroc": {"interval_width": interval(0.45, 0.6)},
            },
        },
        "verdicts": {
            "mc_dropout": {
                "plain": {
                    "max_prob": {"uniform_noise": interval(-0.3, 0.05)},
                    "accuracy": interval(-0.004, -0.001),
                }
            },
            # under corruption: the ensemble decidedly better calibrated than the plain CNN at both severities,
            # temperature scaling's gain decidedly gone at 3 but not at 5
            "ensemble": {
                "plain": {"corrupted": {"ece": {"3": interval(-0.03, -0.01), "5": interval(-0.04, -0.02)}}}
            },
            "plain_ts": {
                "plain": {
                    "ece": interval(-0.03, -0.02),
                    "corrupted": {"ece": {"3": interval(0.01, 0.02), "5": interval(-0.01, 0.02)}},
                }
            },
        },
    }
    found = decide_all(metrics, params)
    assert set(found) == set(CLAIMS) and all(claim["verdict"] in WORDS for claim in found.values())
    assert found["regressors_disagree_outside_the_data"]["verdict"] == "held"
    assert (
        found["plain_confident_on_noise_mc_dropout_unsure"]["verdict"] == "undecided"
    )  # the interval holds 0
    assert found["mc_prediction_as_accurate_as_plain"]["verdict"] == "contradicted"  # decidedly less accurate
    assert found["wide_interval_flags_errors"]["verdict"] == "undecided"  # 0.5 (chance) is inside
    under_shift = found["ensemble_calibration_holds_under_shift"]
    assert (under_shift["3"]["verdict"], under_shift["5"]["verdict"], under_shift["verdict"]) == (
        "held",
        "undecided",
        "undecided",
    )
    for key, claim in CLAIMS.items():
        assert claim.evidence(found[key], params)  # every claim has its sentence
