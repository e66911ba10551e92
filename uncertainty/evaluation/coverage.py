"""Measuring split conformal sets of the registry's predictors: cross-fitting, coverage, size, intervals.

The conformal stage's library (uncertainty.methods.conformal is the method itself). A predictor's sets
are cross-fitted on the test set's two seeded halves: calibrated on one half with the model that
half may use (a temperature-scaled predictor: the temperature fitted on that half), applied to
the other half's test images and to the OOD and rotated images assigned to it. Every metric of
the sets is a weighted mean over images, so one matrix of bootstrap weights per set gives the
tables (rounds + 1, seeds) that uncertainty.evaluation.verdicts turns into intervals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from uncertainty.core.errors import PipelineError
from uncertainty.core.names import format_number
from uncertainty.core.vocabulary import first_ood, ood_sets
from uncertainty.evaluation import corrupted, metrics, statistics
from uncertainty.methods import conformal
from uncertainty.methods.predictors import Predictor, repeats

Probs = Callable[
    [str], tuple[np.ndarray, np.ndarray]
]  # set -> (probs of the model for half a's sets, ... b's)


@dataclass(frozen=True)
class HalfModel:
    """An instance's `Probs` for the conformal stage, and the test images of each half that calibrate its sets
    (None: the whole half; a calibrator fits its map on the rest: uncertainty.methods.predictors.HalfMaps)."""

    probs: Probs
    calibrating: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, set_name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.probs(set_name)


SHARE = (0.0, 1.0)  # the range of a share of images (covered, empty sets) and of an AUROC


def table_bounds(key: str, n_classes: int) -> tuple[float, float]:
    """The range of a table of `measure` or `corrupted_coverage`, its intervals clipped to it
    (uncertainty.evaluation.statistics): a share of images in [0, 1], a mean set size in [0, K] (a set may be empty)."""
    if key in ("coverage", "empty", "worst_class_coverage"):
        return SHARE
    if key.endswith("mean_size"):
        return (0.0, float(n_classes))
    raise KeyError(f"no range declared for the conformal table {key!r}")


def half_models(predictor: Predictor, index: int, built: dict[str, Predictor]) -> HalfModel:
    """A set's probabilities under the model each calibration half may use: the same for every predictor
    fitted before the test set; a calibrated one's (temperature among them) under its map for that half."""
    instance = predictor.instances[index]
    if predictor.of is None:

        @functools.cache  # every score and alpha reads the same arrays
        def same(set_name: str) -> tuple[np.ndarray, np.ndarray]:
            probs = instance.output(set_name)["mean"]
            return probs, probs

        return HalfModel(same)
    base, halves = built[predictor.of].instances[index], instance.halves
    assert halves is not None, f"{predictor.name} scales {predictor.of} but has no calibration halves"

    @functools.cache  # scaled once per set, whatever the number of scores and alphas
    def scaled(set_name: str) -> tuple[np.ndarray, np.ndarray]:
        return halves.probs(base.output(set_name)["mean"])

    return HalfModel(scaled, halves.calibrating)


def distinct(built: dict[str, Predictor]) -> tuple[dict[str, Predictor], dict[str, str]]:
    """The predictors whose test-set probabilities no earlier one has (per instance), and the others' twins:
    a score-only predictor (energy, feature density) has the plain CNN's sets."""

    def same(a: str, b: str) -> bool:
        first, second = built[a].instances, built[b].instances
        return len(first) == len(second) and all(
            np.array_equal(x.output("test")["mean"], y.output("test")["mean"])
            for x, y in zip(first, second, strict=True)
        )

    same_as = repeats(built, same)
    return {name: p for name, p in built.items() if name not in same_as}, same_as


def side_of(split: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    """(n,) 0 for the images of half a, 1 for half b."""
    side = np.zeros(n, dtype=np.int64)
    side[split[1]] = 1
    return side


@dataclass(frozen=True)
class Images:
    """What every predictor's sets are measured on: the test labels, each image's half (0 or 1) and APS/RAPS
    uniform per set, the bootstrap's weights per set (rounds + 1, N) and the test images' classes."""

    labels: np.ndarray
    sides: dict[str, np.ndarray]
    uniforms: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    class_masks: np.ndarray  # (N, K) one-hot true classes
    class_weights: np.ndarray  # (rounds + 1, K) the images of each class in each bootstrap round


def cross_fitted(model: HalfModel, images: Images, options: dict[str, Any]) -> dict[str, Any]:
    """One instance's sets: calibrated on each test half (with the model that half may use, on its
    `calibrating` images of it), applied to the test images of the other half and to the OOD images assigned
    to the other half."""
    u_of = (lambda _: None) if options["score"] == "thr" else images.uniforms.__getitem__
    test = model("test")
    labels, side = images.labels, images.sides["test"]
    sets = np.zeros(test[0].shape, dtype=bool)
    outs = {s: model(s) for s in ood_sets()}
    ood = {s: np.zeros(outs[s][0].shape, dtype=bool) for s in ood_sets()}
    calibrations = []
    for half in (0, 1):
        mine, other, u = side == half, side != half, u_of("test")
        if model.calibrating is not None:
            assert np.all(side[model.calibrating[half]] == half), "calibrating images outside their half"
            mine = np.zeros_like(mine)
            mine[model.calibrating[half]] = True
        calibration = conformal.calibrate(
            test[half][mine], labels[mine], options["score"], options["alpha"],
            u=None if u is None else u[mine], lam=options["lam"], k_reg=options["k_reg"],
            mondrian=options["mondrian"], seed=options["seed"],
        )  # fmt: skip
        calibrations.append(calibration)
        sets[other] = calibration.sets(test[half][other], None if u is None else u[other])
        for s in ood_sets():
            away, u_out = images.sides[s] != half, u_of(s)
            ood[s][away] = calibration.sets(outs[s][half][away], None if u_out is None else u_out[away])
    return {
        "covered": conformal.coverage_terms(sets, labels),
        "size": conformal.set_sizes(sets).astype(np.float64),
        "ood_sizes": {s: conformal.set_sizes(ood[s]) for s in ood_sets()},
        "calibrations": calibrations,
    }


def measure(
    runs: list[dict[str, Any]], images: Images, confidence: float
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The instances' sets as tables (rounds + 1, seeds) of every interval metric, and the JSON entry."""
    w = images.weights
    n_classes = images.class_masks.shape[1]

    def mean_over(
        set_name: str, terms: np.ndarray
    ) -> np.ndarray:  # (N, S) per-image terms -> (rounds + 1, S)
        return w[set_name] @ terms / w[set_name].sum(axis=1, keepdims=True)

    covered = np.column_stack([r["covered"] for r in runs])
    size = np.column_stack([r["size"] for r in runs])
    per_class = w["test"] @ (covered[:, :, None] * images.class_masks[:, None, :]).reshape(len(covered), -1)
    with np.errstate(invalid="ignore"):  # a class no image of a resample has: no coverage, nan
        per_class = per_class.reshape(-1, len(runs), n_classes) / images.class_weights[:, None, :]
    tables = {
        "coverage": mean_over("test", covered),
        "mean_size": mean_over("test", size),
        "empty": mean_over("test", (size == 0).astype(np.float64)),
        "worst_class_coverage": np.nanmin(per_class, axis=2),
        f"{first_ood()}_mean_size": mean_over(
            first_ood(), np.column_stack([r["ood_sizes"][first_ood()] for r in runs]).astype(np.float64)
        ),
    }
    entry: dict[str, Any] = {
        key: statistics.summarize(table, confidence, table_bounds(key, n_classes))
        for key, table in tables.items()
    }
    entry["per_class_coverage"] = [float(x) if np.isfinite(x) else None for x in per_class[0].mean(axis=0)]
    entry["size_histogram"] = {
        "test": histogram([r["size"] for r in runs], n_classes),
        **{s: histogram([r["ood_sizes"][s] for r in runs], n_classes) for s in ood_sets()},
    }
    entry["coverage_by_size"] = coverage_by_size(runs[0]["covered"], runs[0]["size"], n_classes)
    entry["size_auroc"] = {  # the set size as an OOD score, per seed
        s: seed_summary([metrics.auroc(r["size"], r["ood_sizes"][s]) for r in runs], confidence, SHARE)
        for s in ood_sets()
    }
    entry["ood"] = {
        s: {
            "mean_size": float(np.mean([r["ood_sizes"][s].mean() for r in runs])),
            "empty": float(np.mean([(r["ood_sizes"][s] == 0).mean() for r in runs])),
            "full": float(np.mean([(r["ood_sizes"][s] == n_classes).mean() for r in runs])),
        }
        for s in ood_sets()
    }
    return tables, entry


def shift_sets(
    model: Probs, calibrations: list[Any], images: Images, set_name: str, options: dict[str, Any]
) -> np.ndarray | None:
    """The sets (conditions, n, K) of a shift set's images, each image calibrated on the half its test image
    is not in; None where the model has no outputs on the set (a dropout CNN not in infer.shift_mc_models)."""
    try:
        probs = model(set_name)  # (conditions, n, K) each
    except PipelineError:
        return None
    n = probs[0].shape[1]
    side = images.sides["test"][:n]
    u = None
    if options["score"] != "thr":
        u = np.random.default_rng([options["seed"], 1]).uniform(size=n)
    sets = np.zeros(probs[0].shape, dtype=bool)
    for index in range(len(probs[0])):
        for half, calibration in enumerate(calibrations):
            away = side != half
            sets[index, away] = calibration.sets(probs[half][index][away], None if u is None else u[away])
    return sets


def rotation_rows(
    model: Probs, calibrations: list[Any], images: Images, angles: list[int], options: dict[str, Any]
) -> list[dict[str, Any]]:
    """Coverage and mean size per angle of the rotated test images (each in its test image's half)."""
    sets = shift_sets(model, calibrations, images, "rotated", options)
    if sets is None:
        return []
    labels = images.labels[: sets.shape[1]]
    return [
        {
            "angle": angle,
            "coverage": float(conformal.coverage_terms(sets[index], labels).mean()),
            "mean_size": float(conformal.set_sizes(sets[index]).mean()),
        }
        for index, angle in enumerate(angles)
    ]


def corrupted_coverage(
    models: list[Probs],
    runs: list[dict[str, Any]],
    images: Images,
    p: Any,
    options: dict[str, Any],
    confidence: float,
) -> dict[str, Any] | None:
    """Coverage and mean set size under corruption: per corruption and severity (mean over the instances
    inferred there), and per severity the mean over corruptions with its interval over seeds and images
    (the clean images' bootstrap weights, one per image under every corruption), where every instance was."""
    found = [
        shift_sets(m, r["calibrations"], images, corrupted.SET, options)
        for m, r in zip(models, runs, strict=True)
    ]
    have = [sets for sets in found if sets is not None]
    if not have:
        return None
    labels = images.labels[: have[0].shape[1]]
    covered = np.stack(
        [[conformal.coverage_terms(row, labels) for row in sets] for sets in have]
    )  # (I, C*S, n)
    size = np.stack([[conformal.set_sizes(row) for row in sets] for sets in have]).astype(np.float64)
    n_classes = images.class_masks.shape[1]
    entry: dict[str, Any] = {"instances": len(have), "conditions": {}, "severity": {}}
    for row, (name, severity) in enumerate(corrupted.conditions(p)):
        entry["conditions"].setdefault(name, {})[str(severity)] = {
            "coverage": float(covered[:, row].mean()), "mean_size": float(size[:, row].mean()),
        }  # fmt: skip
    weights = images.weights[corrupted.SET]  # (rounds + 1, n)
    for severity in p.severities:
        rows = corrupted.rows_at(p, severity)
        at = {}
        for key, terms in (("coverage", covered), ("mean_size", size)):
            per_image = terms[:, rows].mean(axis=1)  # (I, n): the mean over corruptions
            table = (weights @ per_image.T) / weights.sum(axis=1, keepdims=True)  # (rounds + 1, I)
            at[key] = (
                statistics.summarize(table, confidence, table_bounds(key, n_classes))
                if len(have) == len(models)
                else {"mean": float(table[0].mean())}
            )
        entry["severity"][str(severity)] = at
    return entry


def finite_or_none(threshold: float | np.ndarray) -> Any:
    """A threshold for JSON: None where it is infinite (too few calibration images: every class is in the set)."""
    values = np.asarray(threshold, dtype=np.float64)
    listed = [float(x) if np.isfinite(x) else None for x in values.ravel()]
    return listed[0] if values.ndim == 0 else listed


def histogram(sizes: list[np.ndarray], n_classes: int) -> list[float]:
    """The share of images with each set size 0 ... K, averaged over instances."""
    return np.mean(
        [np.bincount(x.astype(np.int64), minlength=n_classes + 1) / len(x) for x in sizes], axis=0
    ).tolist()


def coverage_by_size(
    covered: np.ndarray, set_size: np.ndarray, n_classes: int
) -> dict[str, dict[str, float]]:
    """Per set size present: how many test images have it and how often their set covers the true class."""
    return {
        str(s): {"images": int((set_size == s).sum()), "coverage": float(covered[set_size == s].mean())}
        for s in range(n_classes + 1)
        if (set_size == s).any()
    }


def seed_summary(
    values: list[float], confidence: float, bounds: statistics.Bounds | None = None
) -> dict[str, Any]:
    """Mean over seeds with the t-interval, clipped to `bounds` (the statistic's range) where given (just
    the value for one instance)."""
    if len(values) < 2:
        return {"mean": float(values[0]), "seeds": 1}
    t = statistics.t_interval(values, confidence)
    summary = {
        "mean": t["mean"],
        "std": t["std"],
        "t_low": t["low"],
        "t_high": t["high"],
        "seeds": len(values),
    }
    return statistics.clip(summary, bounds, ("t_low", "t_high"))


def smallest_sets(
    tables: dict[tuple[str, str, float], dict[str, np.ndarray]],
    kept: dict[str, Predictor],
    variants: list[str],
    alphas: list[float],
    confidence: float,
) -> dict[str, Any]:
    """Per score and alpha: the predictor with the smallest mean set size, the runner-up on other trainings
    and the difference (interval and verdict), and whether the smallest's worst class keeps 1 − alpha."""
    found: dict[str, Any] = {}
    for variant in variants:
        for alpha in alphas:
            tables_at = {name: tables[(name, variant, alpha)] for name in kept}
            best, runner = statistics.best_and_runner_up(
                list(kept),
                lambda name, at=tables_at: at[name]["mean_size"][0].mean(),
                higher_is_better=False,
                same_trainings=lambda a, b: (
                    [i.name for i in kept[a].instances] == [i.name for i in kept[b].instances]
                ),
            )
            table_best = tables_at[best]
            worst = statistics.summarize(table_best["worst_class_coverage"], confidence, SHARE)
            entry: dict[str, Any] = {
                "best": best,
                "mean_size": float(table_best["mean_size"][0].mean()),
                "worst_class_coverage": worst,
                "worst_class_keeps_coverage": statistics.word(
                    worst["low"] - (1 - alpha), worst["high"] - (1 - alpha), words="claim"
                ),
            }
            if runner is not None:
                table_runner = tables_at[runner]
                entry["runner_up"] = runner
                entry["runner_up_mean_size"] = float(table_runner["mean_size"][0].mean())
                entry.update(
                    statistics.compare(table_best["mean_size"], table_runner["mean_size"], False, confidence)
                )
            found.setdefault(variant, {})[format_number(alpha)] = entry
    return found
