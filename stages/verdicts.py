"""Stage: per-seed metrics, intervals, temperature scaling, verdicts, quality against cost, the article's claims.

Reads data/predictions/seeds.npz (every seeded training on the test and OOD sets)
and writes, all as flat JSON metrics diffable across commits:

* reports/metrics/per_seed.json: predictor -> model -> metric, one entry per training;
* reports/metrics/seeds.json: predictor -> metric -> mean, std, 95 % t-interval over
  seeds, and the two-level bootstrap interval (seeds and test images);
* reports/metrics/verdicts.json: comparison -> metric -> difference, interval, verdict;
* reports/metrics/temperature.json: the temperatures fitted by cross-fitting;
* reports/metrics/claims.json: the article's qualitative claims, tested over all seeds;
* reports/plots/curve_passes.csv and curve_members.csv: quality against MC passes T
  and ensemble size M (DVC plots; the verdict_figures stage draws them).

Temperature scaling: one temperature per trained model, fitted by NLL on one half
of the test set and applied to the other half, then the halves swapped (cross-fitting),
so no image is scored by a temperature fitted on it, and the article's recipe
(training on all 60,000 images) stays as it is. OOD images are scaled with the
geometric mean of the two temperatures.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from stages.cli import parse_paths
from stages.common import run
from uncertainty import verdicts as v
from uncertainty.io import load_npz, read_json, write_json, write_text
from uncertainty.metrics import expected_entropy

OOD_SETS = ("mnist", "uniform_noise", "gaussian_noise")
# The verdict table: (comparison name, A, B, paired). Paired: the same trainings on both sides.
COMPARISONS = (
    ("mc_dropout_vs_plain", "mc_dropout", "plain", False),
    ("ensemble_vs_plain", "ensemble", "plain", False),
    ("ensemble_vs_mc_dropout", "ensemble", "mc_dropout", False),
    ("plain_ts_vs_plain", "plain_ts", "plain", True),
    ("mc_dropout_ts_vs_mc_dropout", "mc_dropout_ts", "mc_dropout", True),
    ("ensemble_ts_vs_ensemble", "ensemble_ts", "ensemble", True),
    ("mc_dropout_vs_plain_ts", "mc_dropout", "plain_ts", False),
    ("ensemble_vs_plain_ts", "ensemble", "plain_ts", False),
)
VERDICT_METRICS = (
    "accuracy",
    "nll",
    "brier",
    "ece",
    "auroc_mnist",
    "auroc_uniform_noise",
    "auroc_gaussian_noise",
    "misclassification_auroc_entropy",
)


def ensemble_arrays(
    arrays: dict[str, np.ndarray], members: list[str], set_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive mean (N, K) of the members and the mean of their entropies (N,)."""
    stack = np.stack([arrays[f"{m}__{set_name}"].astype(np.float64) for m in members])  # (M, N, K)
    return stack.mean(0), expected_entropy(stack)


def build_predictors(
    arrays: dict[str, np.ndarray], params: dict[str, Any], labels: np.ndarray
) -> tuple[dict[str, list[v.Instance]], dict[str, dict[str, dict[str, float]]]]:
    """predictor -> seeded instances (plain, mc_dropout, ensemble and their temperature-scaled selves)."""
    s, bins = params["seeds"], params["verdicts"]["ece_bins"]
    split = v.halves(len(labels), params["verdicts"]["seed"])
    predictors: dict[str, list[v.Instance]] = {}
    temperatures: dict[str, dict[str, dict[str, float]]] = {}

    def add(predictor: str, name: str, test: np.ndarray, ood: dict[str, np.ndarray], **spread: Any) -> None:
        predictors.setdefault(predictor, []).append(v.instance(name, test, labels, bins, ood, **spread))
        scaled, (t_a, t_b) = v.cross_fit_temperature(test, labels, split)
        t_ood = float(np.sqrt(t_a * t_b))
        ood_scaled = {k: v.apply_temperature(q, t_ood) for k, q in ood.items()}
        predictors.setdefault(f"{predictor}_ts", []).append(
            v.instance(name, scaled, labels, bins, ood_scaled)
        )
        temperatures.setdefault(predictor, {})[name] = {"fitted_on_half_a": t_a, "fitted_on_half_b": t_b}

    for name in s["plain"]:
        add("plain", name, arrays[f"{name}__test"], {o: arrays[f"{name}__{o}"] for o in OOD_SETS})
    for name in s["dropout"]:
        add(
            "mc_dropout",
            name,
            arrays[f"{name}__test"],
            {o: arrays[f"{name}__{o}"] for o in OOD_SETS},
            mean_entropy_test=arrays[f"{name}__test__mean_entropy"],
            mean_entropy_ood={o: arrays[f"{name}__{o}__mean_entropy"] for o in OOD_SETS},
            extra_scores={"interval_width": arrays[f"{name}__test__interval_width"]},
        )
    members = params["predict"]["ensemble"]
    test, test_entropy = ensemble_arrays(arrays, members, "test")
    ood = {o: ensemble_arrays(arrays, members, o) for o in OOD_SETS}
    add(
        "ensemble",
        "+".join(members),
        test,
        {o: mean for o, (mean, _) in ood.items()},
        mean_entropy_test=test_entropy,
        mean_entropy_ood={o: spread for o, (_, spread) in ood.items()},
    )
    return predictors, temperatures


def curves(arrays: dict[str, np.ndarray], params: dict[str, Any], labels: np.ndarray) -> tuple[str, str]:
    """CSV text of quality against MC passes T (mean and std over dropout seeds) and ensemble size M."""
    bins = params["verdicts"]["ece_bins"]
    ones = {"test": np.ones(len(labels))}

    def quality(
        test: np.ndarray, spread_test: np.ndarray, mnist: np.ndarray, spread_mnist: np.ndarray
    ) -> dict[str, float]:
        inst = v.instance("", test, labels, bins, {"mnist": mnist}, spread_test, {"mnist": spread_mnist})
        weights = {**ones, "mnist": np.ones(len(mnist))}
        keys = ("accuracy", "nll", "ece", "auroc_mnist", "auroc_mnist_mutual_information")
        return {k: inst.metrics[k](weights) for k in keys}

    rows_t = []
    for t in (t for t in params["seeds"]["curve_passes"] if t <= params["predict"]["mc_passes"]):
        per_seed = [
            quality(
                arrays[f"{m}__test__T{t}"],
                arrays[f"{m}__test__T{t}__mean_entropy"],
                arrays[f"{m}__mnist__T{t}"],
                arrays[f"{m}__mnist__T{t}__mean_entropy"],
            )
            for m in params["seeds"]["dropout"]
        ]
        row = {"passes": t}
        for key in per_seed[0]:
            values = [q[key] for q in per_seed]
            row[key], row[f"{key}_std"] = float(np.mean(values)), float(np.std(values, ddof=1))
        rows_t.append(row)
    rows_m = []
    members = params["predict"]["ensemble"]
    for size in range(1, len(members) + 1):
        test, test_spread = ensemble_arrays(arrays, members[:size], "test")
        mnist, mnist_spread = ensemble_arrays(arrays, members[:size], "mnist")
        rows_m.append({"members": size, **quality(test, test_spread, mnist, mnist_spread)})
    return csv(rows_t), csv(rows_m)


def csv(rows: list[dict[str, float]]) -> str:
    return pd.DataFrame(rows).to_csv(index=False, float_format="%.6g", lineterminator="\n")


def claims(
    seeds: dict[str, Any], verdicts: dict[str, Any], regression: dict[str, Any], batch: dict[str, Any]
) -> dict[str, Any]:
    """The article's qualitative claims, each with the numbers that decide it and 'held' or 'failed'."""
    spreads = {k: value for k, value in regression.items() if k.startswith("spread_at_")}
    inside, outside = (spreads[k] for k in sorted(spreads, key=lambda k: float(k.removeprefix("spread_at_"))))
    noise_plain = seeds["plain"]["max_prob_uniform_noise"]
    noise_mc = seeds["mc_dropout"]["max_prob_uniform_noise"]
    noise_diff = verdicts["mc_dropout_vs_plain"]["max_prob_uniform_noise"]
    accuracy = verdicts["mc_dropout_vs_plain"]["accuracy"]
    width = seeds["mc_dropout"]["misclassification_auroc_interval_width"]
    return {
        "regressors_disagree_outside_the_data": {
            "spread_inside": inside,
            "spread_outside": outside,
            "held": "held" if outside > inside else "failed",
        },
        "plain_confident_on_noise_mc_dropout_unsure": {
            "plain_mean_max_prob": noise_plain["mean"],
            "mc_dropout_mean_max_prob": noise_mc["mean"],
            "difference": noise_diff["difference"],
            "low": noise_diff["low"],
            "high": noise_diff["high"],
            "held": "held" if noise_diff["verdict"] == "better" else "failed",
        },
        "mc_prediction_as_accurate_as_plain": {
            "batch_plain": batch["accuracy_plain"],
            "batch_mc_median": batch["accuracy_mc_median"],
            "difference": accuracy["difference"],
            "low": accuracy["low"],
            "high": accuracy["high"],
            "held": "failed" if accuracy["verdict"] == "worse" else "held",
        },
        "wide_interval_flags_errors": {
            "misclassification_auroc": width["mean"],
            "low": width["low"],
            "high": width["high"],
            "held": "held" if width["low"] > 0.5 else "failed",
        },
    }


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    p = params["verdicts"]
    arrays = load_npz(paths.predictions, keys=("labels",))
    labels = arrays["labels"]
    predictors, temperatures = build_predictors(arrays, params, labels)
    sizes = {"test": len(labels), **{o: len(arrays[f"{params['seeds']['plain'][0]}__{o}"]) for o in OOD_SETS}}
    tables = v.replicates(predictors, sizes, p["bootstrap"], p["seed"])

    per_seed = {
        predictor: {
            inst.name: {m: float(tables[predictor][m][0, i]) for m in sorted(tables[predictor])}
            for i, inst in enumerate(instances)
        }
        for predictor, instances in predictors.items()
    }
    seeds = {
        predictor: {
            m: v.summarize(table, p["confidence"], p["seed"]) for m, table in sorted(metric_tables.items())
        }
        for predictor, metric_tables in tables.items()
    }
    verdicts: dict[str, Any] = {}
    for name, a, b, paired in COMPARISONS:
        shared = [m for m in VERDICT_METRICS if m in tables[a] and m in tables[b]]
        verdicts[name] = {
            m: v.compare(tables[a][m], tables[b][m], m, p["confidence"], p["seed"], paired) for m in shared
        }
    verdicts["mc_dropout_vs_plain"]["max_prob_uniform_noise"] = v.compare(
        tables["mc_dropout"]["max_prob_uniform_noise"],
        tables["plain"]["max_prob_uniform_noise"],
        "max_prob_uniform_noise",
        p["confidence"],
        p["seed"],
    )
    found = claims(
        seeds,
        verdicts,
        read_json(paths.regression_metrics),
        read_json(paths.mc_batch_metrics),
    )

    write_json(paths.per_seed, per_seed)
    write_json(paths.seeds, seeds)
    write_json(paths.verdicts, verdicts)
    write_json(paths.temperature, temperatures)
    write_json(paths.claims, found)
    by_passes, by_members = curves(arrays, params, labels)
    write_text(paths.curve_passes, by_passes)
    write_text(paths.curve_members, by_members)
    for name in ("mc_dropout_vs_plain", "ensemble_vs_plain", "mc_dropout_vs_plain_ts"):
        words = ", ".join(
            f"{m} {d['verdict']}"
            for m, d in verdicts[name].items()
            if m in ("accuracy", "nll", "ece", "auroc_mnist")
        )
        print(f"verdicts {name}: {words}")


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "predictions": "every seeded predictor's outputs (seeds stage)",
                "regression-metrics": "the regressors' spreads, for the claims (regression stage)",
                "mc-batch-metrics": "the MC batch's accuracies, for the claims (mc_batch stage)",
                "per-seed": "predictor -> model -> metric, JSON",
                "seeds": "predictor -> metric -> mean, std and intervals over seeds, JSON",
                "verdicts": "comparison -> metric -> difference, interval, verdict, JSON",
                "temperature": "the cross-fitted temperatures, JSON",
                "claims": "the article's claims, held or failed, JSON",
                "curve-passes": "quality against MC passes T, CSV (DVC plots)",
                "curve-members": "quality against ensemble size M, CSV (DVC plots)",
            },
        ),
    )
