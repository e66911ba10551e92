"""The article's qualitative claims, each decided once on this run's numbers.

Each claim names the numbers that decide it (read from the regression, mc_batch, seeds and
verdicts metrics; the last is Ovadia et al.'s (2019) on calibration under shift, not the article's) and one of three words (`verdict`): *held* (the interval supports the
claim), *contradicted* (it supports the opposite) or *undecided* (it allows both). The
verdicts stage writes them to reports/metrics/claims.json; the report prints each claim's
statement and evidence from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from uncertainty.core.names import format_number
from uncertainty.evaluation import statistics
from uncertainty.evaluation.verdicts import lookup

Numbers = Mapping[str, Any]


@dataclass(frozen=True)
class Claim:
    statement: str
    decide: Callable[
        [Mapping[str, Any], Any], dict[str, Any]
    ]  # (metrics by file, params) -> numbers, verdict
    evidence: Callable[[Numbers, Any], str]  # (its numbers, params) -> one sentence
    # Whose claim: the article's are decided on the article's run only (uncertainty.core.article); another's
    # wherever `applies` (params -> whether the run has the predictors it compares).
    article: bool = True
    applies: Callable[[Any], bool] = lambda params: True


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


def _has_shift_rows(params: Any) -> bool:
    """Whether the run has what the claim under shift compares: an ensemble, a temperature-scaled single CNN."""
    kinds = {name: spec.kind for name, spec in params.predictors.items()}
    return "ensemble" in kinds.values() and any(
        spec.kind == "temperature" and kinds[spec.of] == "softmax" for spec in params.predictors.values()
    )


def _shift_rows(params: Any) -> tuple[str, str, str, list[tuple[str, str]]]:
    """The claim under shift's predictors: the first ensemble, the first temperature-scaled single CNN and
    that CNN, and every verdict-table pair of the ensemble with another predictor (as written)."""
    kinds = {name: spec.kind for name, spec in params.predictors.items()}
    ensemble = next(name for name, kind in kinds.items() if kind == "ensemble")
    scaled = next(
        name for name, spec in params.predictors.items()
        if spec.kind == "temperature" and kinds[spec.of] == "softmax"
    )  # fmt: skip
    pairs = [
        (a, b) for a, b in params.verdicts.comparisons
        if ensemble in (a, b) and params.predictors[b if a == ensemble else a].of != ensemble
    ]  # fmt: skip
    return ensemble, scaled, params.predictors[scaled].of, pairs


def _calibration_under_shift(m: Mapping[str, Any], params: Any) -> dict[str, Any] | None:
    """Ovadia et al.: the ensemble's ECE under corruption beats every other predictor's in the verdict table
    (against its own temperature-scaled self excepted), and temperature scaling's clean ECE gain is gone."""
    ensemble, scaled, base, pairs = _shift_rows(params)
    if any(
        lookup(m["verdicts"][scaled][base], ("corrupted", "ece", str(s))) is None
        for s in params.corrupt.verdict_severities
    ):
        return None  # no outputs on corrupted images (saved predictions without them): nothing to decide
    clean = lookup(m["verdicts"][scaled][base], ("ece",))
    found: dict[str, Any] = {"clean_ts_gain": {k: clean[k] for k in ("difference", "low", "high")}}
    words = []
    for severity in params.corrupt.verdict_severities:
        path = ("corrupted", "ece", str(severity))
        best = {}  # other predictor -> ensemble − other on ECE under corruption, and the ensemble's word
        for a, b in pairs:
            row = lookup(m["verdicts"], (a, b, *path))
            # None: the other side has no corrupted outputs (one dropout CNN sampled on them); same_as: a
            # score-only predictor with the plain CNN's probabilities, that comparison again
            if row is None or "same_as" in row:
                continue
            sign = 1 if a == ensemble else -1  # the difference turned to ensemble − other
            low, high = sorted((sign * row["low"], sign * row["high"]))
            if any(
                (v["difference"], v["low"], v["high"]) == (sign * row["difference"], low, high)
                for v in best.values()
            ):
                continue  # a score-only predictor (the plain CNN's probabilities) against the ensemble: that row again
            best[b if a == ensemble else a] = {
                "difference": sign * row["difference"], "low": low, "high": high,
                "verdict": "better" if high < 0 else "worse" if low > 0 else "indistinguishable",  # lower ECE is better
            }  # fmt: skip
        ts = lookup(m["verdicts"], (scaled, base, *path))
        ensemble_best = (
            "held" if all(v["verdict"] == "better" for v in best.values())
            else "contradicted" if any(v["verdict"] == "worse" for v in best.values()) else "undecided"
        )  # fmt: skip
        # "does not survive": held where scaling is decidedly worse under shift, contradicted where still better
        ts_gone = three_way(ts["low"], ts["high"], claim_says_positive=True)
        both = (
            "held" if ensemble_best == ts_gone == "held"
            else "contradicted" if "contradicted" in (ensemble_best, ts_gone) else "undecided"
        )  # fmt: skip
        found[str(severity)] = {
            "ensemble_against": best, "ensemble_best": ensemble_best,
            "ts_gain": {k: ts[k] for k in ("difference", "low", "high")}, "ts_gain_gone": ts_gone,
            "verdict": both,
        }  # fmt: skip
        words.append(both)
    found["verdict"] = (
        "held"
        if all(w == "held" for w in words)
        else "contradicted"
        if "contradicted" in words
        else "undecided"
    )
    return found


def _shift_evidence(n: Numbers, params: Any) -> str:
    _, scaled, base, _ = _shift_rows(params)
    clean = n["clean_ts_gain"]
    parts = [
        f"clean: {params.predictors[scaled].label} − {params.predictors[base].label} ECE {clean['difference']:+.4f} "
        f"{_interval(clean, 4)}"
    ]
    for severity in params.corrupt.verdict_severities:
        at = n[str(severity)]
        beaten = sum(v["verdict"] == "better" for v in at["ensemble_against"].values())
        ts = at["ts_gain"]
        parts.append(
            f"severity {severity}: the ensemble's ECE decidedly lower than {beaten} of {len(at['ensemble_against'])} "
            f"predictors ({at['ensemble_best']}); temperature's gain {ts['difference']:+.4f} {_interval(ts, 4)} "
            f"(gone: {at['ts_gain_gone']})"
        )
    return "; ".join(parts)


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
    "ensemble_calibration_holds_under_shift": Claim(
        "Under corruption the deep ensemble's calibration holds best, and temperature scaling's clean-data "
        "advantage does not survive (Ovadia et al. 2019)",
        _calibration_under_shift,
        _shift_evidence,
        article=False,
        applies=lambda params: _has_shift_rows(params),
    ),
}


def decide_all(
    metrics_by_file: Mapping[str, Any], params: Any, article: bool = True
) -> dict[str, dict[str, Any]]:
    """Every claim this run can decide: the article's on its run (`article`), the others where they apply."""
    decided = {
        key: claim.decide(metrics_by_file, params)
        for key, claim in CLAIMS.items()
        if (article or not claim.article) and claim.applies(params)
    }
    return {
        key: found for key, found in decided.items() if found is not None
    }  # None: not measured on this run
