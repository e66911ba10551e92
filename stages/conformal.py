"""Stage: split conformal prediction sets for every predictor, measured in and out of distribution.

From the inference and posthoc outputs and the fitted temperatures, for every predictor of the
registry (one with the same test-set probabilities as an earlier one, e.g. a score-only
predictor, is the earlier one's sets and is skipped), every instance (seed), every score of
conformal.scores (and conformal.mondrian_score calibrated per class) and every alpha:

* the sets are cross-fitted on the test set's two seeded halves (verdicts.seed, the halves of
  temperature scaling): calibrated on one half, they give the other half's sets, and the swap;
  a temperature-scaled predictor uses, for each half's sets, the temperature fitted on the
  calibration half (so no label of an image decides its own set);
* the OOD images and the rotated and corrupted test images get the sets of the calibration on the
  half they are not in (the OOD images are cut into seeded halves, conformal.seed; a rotated image stays
  in its test image's half).

Writes reports/tables/conformal.json: predictor -> score -> alpha -> the marginal coverage,
mean set size, worst class's coverage, share of empty sets and the first OOD set's mean set
size, each with the mean over seeds, the t-interval over seeds and the interval over seeds and
test images (uncertainty.evaluation.statistics; the image bootstrap resamples the scored images, the thresholds held
fixed), plus the per-class coverage, the set-size histograms (test and every OOD set), the
coverage per set size, the coverage and size per rotation angle (the predictor's first
instance), under corruption (corrupt.conformal_score at corrupt.conformal_alpha: per corruption and
severity, and per severity the mean over corruptions with its interval over seeds and images), and the AUROC of the set size as an OOD score; and `smallest_sets`: per score and
alpha, the predictor with the smallest mean set size against the runner-up, and whether its
worst class keeps the promised coverage. DVC plots, one <predictor>.<score>.csv each:
coverage and mean size against alpha (conformal_alpha/) and the rotation angle (conformal_shift/).
Its headline (HEADLINE below: mean and interval) is reports/metrics/conformal.json, what
`dvc metrics diff` compares across commits.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import read_json, write_json
from uncertainty.core.names import format_number
from uncertainty.core.schema.conformal import Conformal
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.shift import Shift
from uncertainty.core.schema.verdicts import Verdicts
from uncertainty.core.vocabulary import ood_sets, use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.evaluation import corrupted, statistics
from uncertainty.evaluation.coverage import (
    Images,
    corrupted_coverage,
    cross_fitted,
    distinct,
    finite_or_none,
    half_models,
    measure,
    rotation_rows,
    side_of,
    smallest_sets,
)
from uncertainty.evaluation.curves import write_curves
from uncertainty.methods import conformal
from uncertainty.methods.predictors import HALVES, Inference, build, has_set, temperature_halves
from uncertainty.methods.temperature import halves

SECTIONS = {
    "conformal": Conformal,
    "corrupt": Corrupt,
    "shift": Shift,
    "predictors": Predictors,
    "verdicts": Verdicts,
}  # the params.yaml sections it reads


HEADLINE = ("coverage", "mean_size", "worst_class_coverage")  # per predictor, score and alpha
SMALLEST = ("best", "mean_size", "difference", "low", "high", "verdict", "worst_class_keeps_coverage")


def headline(found: dict[str, Any]) -> dict[str, Any]:
    """What `dvc metrics diff` compares across commits: each set's coverage, mean size and worst-class
    coverage (mean and interval), and which predictor has the smallest sets; the rest is the table's."""
    slim: dict[str, Any] = {"same_as": found["same_as"]}
    for name, variants in found.items():
        if name in ("same_as", "smallest_sets"):
            continue
        slim[name] = {
            variant: {
                alpha: {key: {k: entry[key][k] for k in ("mean", "low", "high")} for key in HEADLINE}
                for alpha, entry in alphas.items()
            }
            for variant, alphas in variants.items()
        }
    slim["smallest_sets"] = {
        variant: {alpha: {k: entry[k] for k in SMALLEST if k in entry} for alpha, entry in alphas.items()}
        for variant, alphas in found["smallest_sets"].items()
    }
    return slim


def main(params: Any, paths: argparse.Namespace) -> None:
    use_data_sets(*read_info(paths.info).input_sets)  # the data's own OOD sets join the vocabulary
    c, p = params.conformal, params.verdicts
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    temperatures = read_json(paths.temperature)
    built = build(params, inference, temperatures, posthoc)
    first = next(iter(built.values())).first
    labels = inference.labels(first.models[0])
    n, n_classes = len(labels), first.output("test")["mean"].shape[1]
    rng = np.random.default_rng(c.seed)
    sides = {"test": side_of(temperature_halves(n, p.seed), n)}
    uniforms = {"test": rng.uniform(size=n)}  # APS/RAPS randomization, shared by every predictor (paired)
    for set_name in ood_sets():
        n_set = len(first.output(set_name)["mean"])
        sides[set_name] = side_of(halves(n_set, c.seed), n_set)
        uniforms[set_name] = rng.uniform(size=n_set)
    angles = params.shift.angles

    # the image bootstrap of the verdicts stage, the same draws: one weight matrix per set, rows = rounds
    shift_sizes = (
        {corrupted.SET: first.output(corrupted.SET)["mean"].shape[1]}
        if has_set([first], corrupted.SET)
        else {}
    )
    weights = statistics.weight_matrices(
        {name: len(side) for name, side in sides.items()}, p.bootstrap, p.seed, shift_sizes
    )
    class_masks = np.eye(n_classes)[labels]  # (N, K)
    class_weights = weights["test"] @ class_masks  # (rounds + 1, K): the images of each class in each round

    kept, same_as = distinct(built)

    found: dict[str, Any] = {}
    by_alpha: dict[str, list[dict[str, float]]] = {}  # DVC plots: coverage and size against alpha ...
    by_angle: dict[str, list[dict[str, float]]] = {}  # ... and against the rotation angle
    by_severity: dict[str, list[dict[str, float]]] = {}  # ... and against the corruptions' severity
    tables: dict[tuple[str, str, float], dict[str, np.ndarray]] = {}
    images = Images(labels, sides, uniforms, weights, class_masks, class_weights)
    for name, predictor in kept.items():
        models = [half_models(predictor, i, built) for i in range(len(predictor.instances))]
        for variant, score, mondrian in conformal.variants(c.scores, c.mondrian_score):
            for alpha in c.alphas:
                options = {"score": score, "alpha": alpha, "mondrian": mondrian, "lam": c.raps_lambda,
                           "k_reg": c.raps_k_reg, "seed": c.seed}  # fmt: skip
                runs = [cross_fitted(model, images, options) for model in models]  # one per instance (seed)
                tables[(name, variant, alpha)], entry = measure(runs, images, p.confidence)
                entry["rotated"] = {
                    str(row["angle"]): {k: row[k] for k in ("coverage", "mean_size")}
                    for row in rotation_rows(models[0], runs[0]["calibrations"], images, angles, options)
                }
                if (variant, alpha) == (params.corrupt.conformal_score, params.corrupt.conformal_alpha):
                    entry["corrupted"] = corrupted_coverage(
                        models, runs, images, params.corrupt, options, p.confidence
                    )
                    if entry["corrupted"]:
                        by_severity.setdefault(f"{name}.{variant}", []).extend(
                            {"severity": int(s), **{k: v["mean"] for k, v in at.items()}}
                            for s, at in entry["corrupted"]["severity"].items()
                        )
                entry["fitted"] = {
                    half: {
                        "threshold": finite_or_none(cal.threshold),
                        **({"lam": cal.lam, "k_reg": cal.k_reg} if score == "raps" else {}),
                    }
                    for half, cal in zip(HALVES, runs[0]["calibrations"], strict=True)
                }
                found.setdefault(name, {}).setdefault(variant, {})[format_number(alpha)] = entry
                by_alpha.setdefault(f"{name}.{variant}", []).append(
                    {
                        "alpha": alpha,
                        "coverage": entry["coverage"]["mean"],
                        "mean_size": entry["mean_size"]["mean"],
                    }
                )
                by_angle.setdefault(f"{name}.{variant}", []).extend(
                    {"alpha": alpha, "angle": int(angle), **values}
                    for angle, values in entry["rotated"].items()
                )
            print(
                f"conformal {name} {variant}: "
                + ", ".join(
                    f"alpha {format_number(a)}: coverage {found[name][variant][format_number(a)]['coverage']['mean']:.4f}, "
                    f"size {found[name][variant][format_number(a)]['mean_size']['mean']:.2f}"
                    for a in c.alphas
                ),
                flush=True,
            )

    variants = [name for name, _, _ in conformal.variants(c.scores, c.mondrian_score)]
    found["smallest_sets"] = smallest_sets(tables, kept, variants, c.alphas, p.confidence)
    found["same_as"] = same_as
    write_json(paths.table, found)  # the full table for the report and the figures
    write_json(paths.metrics, headline(found))
    write_curves(paths.alpha_curves, by_alpha)
    write_curves(paths.shift_curves, by_angle)
    write_curves(paths.corruption_curves, by_severity)


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
                "inference": "every model's outputs, <model>/<set>.npz (infer stage)",
                "posthoc": "the post-hoc predictors' outputs, <predictor>/<model>/<set>.npz (posthoc stage)",
                "temperature": "the fitted temperatures (temperature stage)",
                "table": "predictor -> score -> alpha -> coverage, set sizes, per class, per angle, ..., JSON",
                "metrics": "its headline: coverage, mean size and worst-class coverage with intervals, JSON",
                "alpha-curves": "coverage and mean size against alpha, <predictor>.<score>.csv (DVC plots)",
                "shift-curves": "coverage and mean size against the rotation angle, <predictor>.<score>.csv",
                "corruption-curves": "coverage and mean size against severity (mean over corruptions), <predictor>.<score>.csv",
            },
        ),
    )
