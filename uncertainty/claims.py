"""The article's qualitative claims, each decided once on this run's numbers.

Each claim names the numbers that decide it (read from the regression, mc_batch, seeds and
verdicts metrics) and one of three words (`verdict`): *held* (the interval supports the
claim), *contradicted* (it supports the opposite) or *undecided* (it allows both). The
verdicts stage writes them to reports/metrics/claims.json; the report prints each claim's
statement and evidence from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from uncertainty import statistics
from uncertainty.names import format_number
from uncertainty.verdicts import lookup

Numbers = Mapping[str, Any]


@dataclass(frozen=True)
class Claim:
    statement: str
    decide: Callable[
        [Mapping[str, Any], Any], dict[str, Any]
    ]  # (metrics by file, params) -> numbers, verdict
    evidence: Callable[[Numbers, Any], str]  # (its numbers, params) -> one sentence


WORDS = statistics.WORDS["claim"]


def three_way(low: float, high: float, claim_says_positive: bool) -> str:
    """The word for a claim about the sign of a difference, from its interval [low, high]."""
    return statistics.word(low, high, claim_says_positive, words="claim")


def _regressors(m: Mapping[str, Any], params: Any) -> dict[str, Any]:
    regression = m["regression"]
    inside, outside = (regression[f"spread_at_{format_number(x)}"] for x in params.regression.spread_at[:2])
    # One run of three models: no interval, so the word is the sign (the report says so).
    return {
        "spread_inside": inside,
        "spread_outside": outside,
        "verdict": "held" if outside > inside else "contradicted",
    }


def _noise(m: Mapping[str, Any], params: Any) -> dict[str, Any]:
    path = ("max_prob", "uniform_noise")
    diff = lookup(m["verdicts"]["mc_dropout"]["plain"], path)
    return {
        "plain_mean_max_prob": lookup(m["seeds"]["plain"], path)["mean"],
        "mc_dropout_mean_max_prob": lookup(m["seeds"]["mc_dropout"], path)["mean"],
        **{k: diff[k] for k in ("difference", "low", "high")},
        "verdict": three_way(diff["low"], diff["high"], claim_says_positive=False),  # MC dropout lower
    }


def _accuracy(m: Mapping[str, Any], params: Any) -> dict[str, Any]:
    diff, batch = m["verdicts"]["mc_dropout"]["plain"]["accuracy"], m["mc_batch"]
    return {
        "batch_plain": batch["accuracy_plain"],
        "batch_mc_median": batch["accuracy_mc_median"],
        **{k: diff[k] for k in ("difference", "low", "high")},
        # "As accurate": contradicted only where MC dropout is decidedly less accurate; an interval
        # containing 0 (or above it) supports it.
        "verdict": "contradicted" if diff["high"] < 0 else "held",
    }


def _width(m: Mapping[str, Any], params: Any) -> dict[str, Any]:
    width = m["seeds"]["mc_dropout"]["misclassification_auroc"]["interval_width"]
    return {
        "misclassification_auroc": width["mean"],
        "low": width["low"],
        "high": width["high"],
        "verdict": three_way(
            width["low"] - 0.5, width["high"] - 0.5, claim_says_positive=True
        ),  # above chance
    }


def _interval(n: Numbers, digits: int = 3) -> str:
    return f"[{n['low']:.{digits}f}, {n['high']:.{digits}f}]"


CLAIMS: dict[str, Claim] = {
    "regressors_disagree_outside_the_data": Claim(
        "Three regressors agree inside the data and disagree outside it",
        _regressors,
        lambda n, p: (
            f"std across models {n['spread_inside']:.3f} inside vs {n['spread_outside']:.3f} outside "
            "(3 models, one seed each)"
        ),
    ),
    "plain_confident_on_noise_mc_dropout_unsure": Claim(
        "The plain CNN is confidently wrong on noise; MC dropout is unsure",
        _noise,
        lambda n, p: (
            f"mean top probability on {p.ood.uniform_noise:,} uniform-noise images: plain "
            f"{n['plain_mean_max_prob']:.3f}, MC dropout {n['mc_dropout_mean_max_prob']:.3f}; "
            f"difference {n['difference']:+.3f} {_interval(n)}"
        ),
    ),
    "mc_prediction_as_accurate_as_plain": Claim(
        "MC dropout predicts as accurately as the plain model (article: one batch, 0.875 vs 0.867)",
        _accuracy,
        lambda n, p: (
            f"this run's batch: plain {n['batch_plain']:.3f}, MC median {n['batch_mc_median']:.3f}; "
            f"whole test set over seeds: difference {n['difference']:+.4f} {_interval(n, 4)}"
        ),
    ),
    "wide_interval_flags_errors": Claim(
        "A wide percentile interval flags an uncertain (likely wrong) prediction",
        _width,
        lambda n, p: (
            f"misclassification AUROC of the top class's 2.5–97.5 % width "
            f"{n['misclassification_auroc']:.3f} {_interval(n)} (0.5 = no signal)"
        ),
    ),
}


def decide_all(metrics_by_file: Mapping[str, Any], params: Any) -> dict[str, dict[str, Any]]:
    return {key: claim.decide(metrics_by_file, params) for key, claim in CLAIMS.items()}
