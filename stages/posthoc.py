"""Stage: every post-hoc predictor fitted once per model on the training images, then applied to every set.

    python -m stages.posthoc --inference data/inference --output data/posthoc \
        --metrics reports/metrics/posthoc.json --machine reports/machine/posthoc.json

A predictor whose kind fits something after training (uncertainty.methods.predictors: `Kind.posthoc`,
e.g. feature density, last-layer Laplace) is fitted on one CNN's training-image features
(the inference stage's `train` set: never a test image), for each of its models, and applied
to the test set, the OOD sets and the shift sets (rotated and corrupted). Writes <output>/<predictor>/<model>/<set>.npz
(the method's per-image outputs: its scores or its predictive distribution) and one metrics
JSON: predictor -> model -> what was fitted (e.g. the prior precision) and the method's own
diagnostics on the test set; and the machine record: the CPU, the fit seconds and the
test-set seconds (the cost table), measurements kept apart from the results.
numpy and scipy only: the CNN's features were computed once, by the inference stage.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import save_npz, write_json
from uncertainty.core.machine import machine_info
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.vocabulary import ood_sets, use_data_sets
from uncertainty.data.dataset_info import read_info
from uncertainty.methods.posthoc import PosthocMethod
from uncertainty.methods.posthoc import method as posthoc_method
from uncertainty.methods.predictors import KINDS, SHIFT_SETS, Inference

SECTIONS = {"predictors": Predictors}  # the params.yaml sections it reads


def apply(method: PosthocMethod, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The method on one set; a set with a leading condition axis (a shift set) is applied as one batch
    (its per-condition labels, e.g. the angles, left out)."""
    if arrays["features"].ndim == 2:
        return method.apply(arrays)
    lead = arrays["features"].shape[:2]  # (conditions, n)
    flat = {
        key: value.reshape(lead[0] * lead[1], *value.shape[2:])
        for key, value in arrays.items()
        if value.shape[:2] == lead
    }
    return {key: value.reshape(*lead, *value.shape[1:]) for key, value in method.apply(flat).items()}


def fit_model(fitted: dict[str, Any], model: str, paths: argparse.Namespace) -> dict[str, tuple[dict, dict]]:
    """Every post-hoc predictor of one model: fitted, applied to every set (outputs written), diagnosed;
    predictor -> (what was fitted, its seconds). The model's arrays are read once and let go after, and the
    predictors that fit the same thing on it (Laplace's links share one posterior) follow one another."""
    inference = Inference(paths.inference)
    found = {}
    for name, spec in fitted.items():
        if model not in spec.models:
            continue
        method = posthoc_method(KINDS[spec.kind].posthoc, spec.options)
        started = time.perf_counter()
        record = method.fit(inference(model, "train"))
        timing = {"fit_seconds": time.perf_counter() - started}
        outputs = {}
        # A shift set with no features (saved predictions may hold none, or no such set) has no outputs here.
        shifts = [s for s in SHIFT_SETS if inference.has(model, s) and "features" in inference(model, s)]
        for set_name in ("test", *ood_sets(), *shifts):
            started = time.perf_counter()
            outputs[set_name] = apply(method, inference(model, set_name))
            if set_name in ("test", "corrupted"):
                timing[f"{set_name}_set_seconds"] = time.perf_counter() - started
        record.update(method.diagnose(inference(model, "test")))
        for set_name, arrays in outputs.items():
            save_npz(paths.output / name / model / f"{set_name}.npz", arrays)
        found[name] = (record, timing)
        print(
            f"posthoc {name} {model}: fit {timing['fit_seconds']:.1f} s, test set {timing['test_set_seconds']:.2f} s",
            flush=True,
        )
    return found


def main(params: Any, paths: argparse.Namespace) -> None:
    use_data_sets(*read_info(paths.info).input_sets)  # the data's own OOD sets join the vocabulary
    records: dict[str, dict[str, Any]] = {}
    seconds: dict[str, dict[str, dict[str, float]]] = {}  # measurements, not results: the machine record
    fitted = {name: spec for name, spec in params.predictors.items() if KINDS[spec.kind].posthoc is not None}
    for model in dict.fromkeys(model for spec in fitted.values() for model in spec.models):
        for name, (record, timing) in fit_model(fitted, model, paths).items():
            records.setdefault(name, {})[model] = record
            seconds.setdefault(name, {})[model] = timing
    write_json(paths.metrics, records)
    write_json(paths.machine, {"machine": machine_info(), "seconds": seconds})


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
                "inference": "every model's outputs, <model>/<set>.npz (infer stage)",
                "output": "the post-hoc outputs, <predictor>/<model>/<set>.npz",
                "metrics": "predictor -> model -> what was fitted and the method's diagnostics, JSON",
                "machine": "the CPU, and per predictor and model the fit and test-set seconds, JSON",
            },
        ),
    )
