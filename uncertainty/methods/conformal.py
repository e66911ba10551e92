"""Split conformal prediction sets for classifiers (numpy only).

Split conformal prediction (Vovk, Gammerman and Shafer, "Algorithmic Learning in a Random World", 2005)
turns any classifier's probabilities into sets of labels that contain the true label with probability
at least 1 - alpha. A conformity score s(x, y) says how badly label y fits image x (higher = worse).
On n labelled calibration images, the threshold t is the ceil((n + 1)(1 - alpha))-th smallest score of
the true labels; the set of a new image is every label whose score is <= t. If the calibration images
and the new image are exchangeable, the new true label's score is at most t with probability
ceil((n + 1)(1 - alpha)) / (n + 1) >= 1 - alpha, and (scores without ties) below 1 - alpha + 1/(n + 1).
The guarantee is marginal: averaged over calibration sets and images, not per image.

The scores (SCORES):

- "thr": 1 - p_y, the threshold classifier (LAC, the least ambiguous set-valued classifier of Sadinle,
  Lei and Wasserman, JASA 2019; MAPIE's "lac"). Smallest average sets, but hard images are under-covered.
- "aps": adaptive prediction sets (Romano, Sesia and Candès, NeurIPS 2020): the probability mass of the
  labels ranked strictly above y, plus u * p_y. u = 1 (u=None) is the non-randomized score, the
  cumulative mass up to and including y; u ~ Uniform(0, 1) per image is the randomized score, whose
  coverage is exactly ceil((n + 1)(1 - alpha)) / (n + 1) (sets may then be empty).
- "raps": regularized APS (Angelopoulos, Bates, Malik and Jordan, ICLR 2021): APS plus
  lam * max(0, rank(y) - k_reg), a penalty on labels ranked below k_reg that shrinks APS's long tails.

The Mondrian (class-conditional) variant (Vovk, "Conditional validity of inductive conformal
predictors", ACML 2012) calibrates one threshold per class on that class's calibration images alone, so
the guarantee holds for every true class separately (label y is compared with threshold[y]).

Conventions: ranks are 1-based (1 = the most probable label); equal probabilities are ranked by label
index (stable sort). Scores are compared with thresholds exactly (no tolerance): a calibration image's
score and the score the same label gets at prediction time come from the same arithmetic (label_scores).
tests/test_conformal.py checks thresholds and sets against MAPIE 1.6.0 and says where its options differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SCORES = ("thr", "aps", "raps")
RAPS_LAMBDAS = (0.001, 0.01, 0.1, 0.2, 0.5)  # the grid of Angelopoulos et al.'s code (pick_lamda_size)


def _check_probs(probs) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)  # float32 softmax outputs: one arithmetic for all scores
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must be an (N, K) array with K >= 2 classes, got shape {probs.shape}")
    if not np.all(np.isfinite(probs)) or probs.min(initial=0.0) < 0.0 or probs.max(initial=0.0) > 1.0:
        raise ValueError("probs must hold finite probabilities in [0, 1]")
    return probs


def _check_labels(labels, n_images: int, n_classes: int, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{name} must be {n_images} integer class indices, got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    return labels


def _check_alpha(alpha) -> float:
    if not 0.0 < alpha < 1.0:  # also rejects NaN
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(alpha)


def _check_score(score: str, lam: float, k_reg: int) -> None:
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if not (lam >= 0.0 and k_reg >= 0 and int(k_reg) == k_reg):
        raise ValueError(f"lam must be >= 0 and k_reg a non-negative integer, got lam={lam}, k_reg={k_reg}")
    if score != "raps" and (lam != 0.0 or k_reg != 0):  # a silently ignored penalty would be a mistake
        raise ValueError(f"lam and k_reg apply to score='raps' only, got score={score!r}")


def _ranking(probs: np.ndarray) -> np.ndarray:
    """(N, K) label indices from the most to the least probable (ties: lower label index first)."""
    return np.argsort(-probs, axis=1, kind="stable")


class ConformalScore(Protocol):
    """A conformity score, like MAPIE's score classes: `label_scores(probs, u)` -> (N, K), the score each
    label would have for each image (higher = less conforming). `probs` is checked (N, K) float64; `u`
    is None or the randomization in [0, 1] (a scalar or one value per image), for scores that use it."""

    def label_scores(self, probs: np.ndarray, u: np.ndarray | None) -> np.ndarray: ...


@dataclass(frozen=True)
class Threshold:
    """thr: 1 - p_y (u is ignored: there is nothing to randomize)."""

    def label_scores(self, probs: np.ndarray, u: np.ndarray | None) -> np.ndarray:
        return 1.0 - probs


@dataclass(frozen=True)
class Adaptive:
    """aps: the mass of the labels ranked strictly above y plus u * p_y; u=None is u = 1, the cumulative
    mass up to and including y. raps (lam, k_reg set): aps + lam * max(0, rank(y) - k_reg), rank 1-based."""

    lam: float = 0.0
    k_reg: int = 0

    def label_scores(self, probs: np.ndarray, u: np.ndarray | None) -> np.ndarray:
        order = _ranking(probs)
        ranked = np.take_along_axis(probs, order, axis=1)
        cumulative = np.cumsum(ranked, axis=1)
        if u is None:
            ranked_scores = cumulative
        else:
            above = np.hstack([np.zeros((len(probs), 1)), cumulative[:, :-1]])  # mass strictly above
            ranked_scores = above + np.reshape(u, (-1, 1)) * ranked
        if self.lam or self.k_reg:
            ranks = np.arange(1, probs.shape[1] + 1)
            ranked_scores = ranked_scores + self.lam * np.maximum(0, ranks - self.k_reg)
        scores = np.empty_like(ranked_scores)
        np.put_along_axis(scores, order, ranked_scores, axis=1)  # back to label order
        return scores


def score_of(score: str, lam: float = 0.0, k_reg: int = 0) -> ConformalScore:
    """The ConformalScore named `score` (SCORES), with RAPS's penalty where it is raps."""
    _check_score(score, lam, k_reg)
    return Threshold() if score == "thr" else Adaptive(lam, k_reg)


def label_scores(probs, score: str, *, u=None, lam: float = 0.0, k_reg: int = 0) -> np.ndarray:
    """(N, K): the conformity score each label would have for each image (higher = less conforming);
    `score` one of SCORES (the classes above say what each computes), u in [0, 1] a scalar or one
    value per image (None: no randomization)."""
    probs = _check_probs(probs)
    scorer = score_of(score, lam, k_reg)
    if u is not None:
        u = np.asarray(u, dtype=np.float64)
        if u.shape not in ((), (len(probs),)) or not np.all((u >= 0.0) & (u <= 1.0)):
            raise ValueError(f"u must be a scalar or {len(probs)} values (one per image), all in [0, 1]")
    return scorer.label_scores(probs, u)


def true_label_scores(probs, labels, score: str, **same) -> np.ndarray:
    """(N,): the score of each image's true label (same keyword arguments as label_scores)."""
    scores = label_scores(probs, score, **same)
    labels = _check_labels(labels, *scores.shape)
    return scores[np.arange(len(labels)), labels]


def quantile(calibration_scores, alpha: float) -> float:
    """The conformal threshold: the ceil((n + 1)(1 - alpha))-th smallest calibration score.

    np.inf when that rank exceeds n (too few images for this alpha: every label is in every set).
    (n + 1)(1 - alpha) is computed in floating point, as MAPIE does.
    """
    scores = np.asarray(calibration_scores, dtype=np.float64)
    alpha = _check_alpha(alpha)
    if scores.ndim != 1 or np.isnan(scores).any():
        raise ValueError(f"calibration_scores must be a 1-D array without NaN, got shape {scores.shape}")
    n = len(scores)
    rank = math.ceil((n + 1) * (1.0 - alpha))
    if rank > n:
        return np.inf
    return float(np.sort(scores)[rank - 1])


def prediction_sets(probs, threshold, score: str, *, u=None, lam: float = 0.0, k_reg: int = 0) -> np.ndarray:
    """(N, K) bool: label y is in the set iff its label score <= threshold.

    threshold is a float, or a (K,) array of per-class thresholds (Mondrian: label y against threshold[y]).
    """
    scores = label_scores(probs, score, u=u, lam=lam, k_reg=k_reg)
    threshold = np.asarray(threshold, dtype=np.float64)
    if threshold.shape not in ((), (scores.shape[1],)) or np.isnan(threshold).any():
        raise ValueError(f"threshold must be a number or {scores.shape[1]} per-class numbers, not NaN")
    return scores <= threshold  # a (K,) threshold broadcasts along the label axis


def class_quantiles(calibration_scores, calibration_labels, alpha: float, n_classes: int) -> np.ndarray:
    """(K,) Mondrian thresholds: `quantile` over each class's calibration images alone."""
    scores = np.asarray(calibration_scores, dtype=np.float64)
    labels = _check_labels(calibration_labels, len(scores), n_classes, "calibration_labels")
    return np.array([quantile(scores[labels == k], alpha) for k in range(n_classes)])


def coverage_terms(sets, labels) -> np.ndarray:
    """(N,) float64: 1.0 where the true label is in the set (its mean is the coverage)."""
    sets = np.asarray(sets, dtype=bool)
    labels = _check_labels(labels, *sets.shape)
    return sets[np.arange(len(labels)), labels].astype(np.float64)


def set_sizes(sets) -> np.ndarray:
    """(N,) int: the number of labels in each set."""
    return np.asarray(sets, dtype=bool).sum(axis=1)


def choose_raps(probs, labels, alpha: float, lambdas=RAPS_LAMBDAS, *, seed: int = 0) -> tuple[float, int]:
    """RAPS's (lam, k_reg) chosen on the given (calibration) data, as Angelopoulos et al. 2021 do.

    k_reg: their pick_kreg, np.quantile(0-based true-label ranks, 1 - alpha, method "higher") + 1, i.e.
    the "higher" (1 - alpha) quantile of the 1-based ranks: sets of k_reg labels would cover about
    1 - alpha, and only labels past that rank are penalized.
    lam: their pick_lamda_size keeps the first lambda of the grid with the smallest mean set size, but
    calibrates and measures on the same images. Here rng = np.random.default_rng(seed) permutes the
    images (first half: the first N // 2 of the permutation), then draws u ~ Uniform(0, 1) per image (the
    randomized score, as their default randomized=True); for every lambda, the RAPS threshold is
    calibrated on the first half and the mean set size measured on the second. Ties go to the earlier
    lambda.
    Calibrate the final sets on other images than these, so the choice does not bias their coverage.
    """
    probs = _check_probs(probs)
    labels = _check_labels(labels, *probs.shape)
    alpha = _check_alpha(alpha)
    lambdas = [float(lam) for lam in lambdas]
    if not lambdas or min(lambdas) < 0.0:
        raise ValueError(f"lambdas must be a non-empty grid of values >= 0, got {lambdas}")
    if len(labels) < 2:
        raise ValueError("choose_raps needs at least 2 images (two halves)")
    ranks = np.argmax(_ranking(probs) == labels[:, None], axis=1) + 1
    k_reg = int(np.quantile(ranks, 1.0 - alpha, method="higher"))
    rng = np.random.default_rng(seed)
    permuted = rng.permutation(len(labels))
    half_a, half_b = permuted[: len(labels) // 2], permuted[len(labels) // 2 :]
    u = rng.uniform(size=len(labels))
    sizes = []
    for lam in lambdas:
        raps = {"u": u[half_a], "lam": lam, "k_reg": k_reg}
        threshold = quantile(true_label_scores(probs[half_a], labels[half_a], "raps", **raps), alpha)
        raps["u"] = u[half_b]
        sizes.append(set_sizes(prediction_sets(probs[half_b], threshold, "raps", **raps)).mean())
    return lambdas[int(np.argmin(sizes))], k_reg  # argmin: the first of equal sizes


@dataclass(frozen=True)
class Calibration:
    """One calibrated conformal predictor: its score, threshold(s) and RAPS penalty; `sets` applies it."""

    score: str
    threshold: float | np.ndarray  # a (K,) array when calibrated per class (Mondrian)
    lam: float = 0.0
    k_reg: int = 0

    def sets(self, probs, u=None) -> np.ndarray:
        """(N, K) bool prediction sets of new images (u: their APS/RAPS randomization, None for thr)."""
        return prediction_sets(probs, self.threshold, self.score, u=u, lam=self.lam, k_reg=self.k_reg)


def calibrate(
    probs,
    labels,
    score: str,
    alpha: float,
    *,
    u=None,
    lam: float | str = 0.0,
    k_reg: int | str = 0,
    mondrian: bool = False,
    seed: int = 0,
) -> Calibration:
    """Calibrate on labelled images: the threshold (per class if mondrian) of their true labels' scores.

    For raps, lam and k_reg may be "auto": chosen by `choose_raps` on these same calibration images
    (seed: its split), as Angelopoulos et al. do; a number is used as given. Other scores take neither.
    """
    if score == "raps":
        chosen_lam, chosen_k = (
            choose_raps(probs, labels, alpha, seed=seed) if "auto" in (lam, k_reg) else (0.0, 0)
        )
        lam = chosen_lam if lam == "auto" else float(lam)
        k_reg = chosen_k if k_reg == "auto" else int(k_reg)
    else:
        lam, k_reg = 0.0, 0
    calibration = true_label_scores(probs, labels, score, u=u, lam=lam, k_reg=k_reg)
    if mondrian:
        threshold = class_quantiles(calibration, labels, alpha, np.asarray(probs).shape[1])
    else:
        threshold = quantile(calibration, alpha)
    return Calibration(score, threshold, lam, k_reg)


def variants(scores: list[str], mondrian_score: str) -> list[tuple[str, str, bool]]:
    """The measured variants in order, as (name, score, mondrian): each score, then the Mondrian one."""
    return [(score, score, False) for score in scores] + [
        (f"{mondrian_score}_mondrian", mondrian_score, True)
    ]
