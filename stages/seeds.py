"""Stage: every seeded training of each predictor on the test set and the OOD sets, for the verdicts.

For each plain CNN in seeds.plain: its softmax (N, 10) per set. For each dropout
CNN in seeds.dropout: T = predict.mc_passes MC passes (seed predict.seed), kept as
their mean (N, 10), the mean entropy of the passes (N,) (with the mean, that gives
the mutual information) and the 2.5-97.5 % interval width of the top class (N,);
on the test set and MNIST also the mean and mean entropy of the first t passes for
every t in seeds.curve_passes up to T (quality against T). Sets: the Fashion-MNIST test
set and the OOD sets of the ood stage. Writes data/predictions/seeds.npz, keys
"<model>__<set>[__<quantity>]", and reports/machine/inference.json: seconds for
the test set per predictor on this machine (the cost table).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.cnn import load_cnn, predict_probs
from uncertainty.fashion_mnist import to_model_input
from uncertainty.io import load_npz, save_npz, write_json
from uncertainty.machine import machine_info
from uncertainty.mc import MCDropout
from uncertainty.metrics import expected_entropy, interval_width
from uncertainty.ood_inputs import ood_sets
from uncertainty.predictors import progress

CURVE_SETS = ("test", "mnist")


def curve_passes(wanted: list[int], passes: int) -> list[int]:
    """The curve's T values that the T = predict.mc_passes computed passes allow (a sweep may lower T)."""
    return [t for t in wanted if t <= passes]


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    p, engine = params["seeds"], params["mc_engine"]
    passes = params["predict"]["mc_passes"]
    data = load_npz(paths.data, keys=("x_test", "y_test"))
    sets = {"test": to_model_input(data["x_test"]), **ood_sets(params["ood"])}
    arrays: dict[str, np.ndarray] = {"labels": data["y_test"].astype(np.int64)}
    seconds: dict[str, float] = {}

    for name in p["plain"]:
        model, _ = load_cnn(paths.models / f"{name}.npz")
        predict_probs(model, sets["test"][:8])  # warm-up: compile time is not the per-image cost
        for set_name, images in sets.items():
            started = time.perf_counter()
            arrays[f"{name}__{set_name}"] = predict_probs(model, images)
            if set_name == "test":
                seconds[name] = time.perf_counter() - started
        print(f"seeds: {name} done", flush=True)

    for name in p["dropout"]:
        model, _ = load_cnn(paths.models / f"{name}.npz")
        sampler = MCDropout(model, params["predict"]["seed"], **engine)
        sampler.sample(sets["test"][:8], 2)  # warm-up (XLA compiles once per shape)
        for set_name, images in sets.items():
            started = time.perf_counter()
            stack = sampler.sample(
                images, passes, progress=progress(f"seeds {name} {set_name}")
            )  # (T, N, 10)
            if set_name == "test":
                seconds[name] = time.perf_counter() - started
            key = f"{name}__{set_name}"
            arrays[key] = stack.mean(0)
            arrays[f"{key}__mean_entropy"] = expected_entropy(stack)
            arrays[f"{key}__interval_width"] = interval_width(stack)
            if set_name in CURVE_SETS:
                for t in curve_passes(p["curve_passes"], passes):
                    arrays[f"{key}__T{t}"] = stack[:t].mean(0)
                    arrays[f"{key}__T{t}__mean_entropy"] = expected_entropy(stack[:t])
            del stack

    save_npz(paths.output, {key: np.asarray(value) for key, value in arrays.items()})
    write_json(
        paths.timings,
        {
            "machine": machine_info(),
            "test_images": len(sets["test"]),
            "mc_passes": passes,
            "test_set_seconds": seconds,
        },
    )
    print(
        f"seeds: {len(p['plain'])} plain and {len(p['dropout'])} dropout CNNs over {len(sets)} sets -> {paths.output}"
    )


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "data": "Fashion-MNIST arrays (prepare_data stage)",
                "models": "the directory of trained CNNs, <name>.npz (train stage)",
                "output": "every seeded predictor's outputs on the test and OOD sets, .npz",
                "timings": "seconds for the test set per predictor on this machine, JSON",
            },
        ),
    )
