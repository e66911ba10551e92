"""Stage: the temperatures, fitted once for every instance of every predictor and written once; and the
other calibrators' cost.

Each instance's test-set predictive distribution is fitted by NLL on one seeded half of
the test set and the other (uncertainty.methods.temperature: cross-fitting, since the article
trains on all 60,000 training images). Every later stage scales with these numbers.
A predictor of a calibrator kind (uncertainty.methods.calibrators: histogram binning, isotonic regression,
vector scaling) is cross-fitted on the same halves where it is used, from these same inputs, the same
numbers every time; here each instance is fitted and applied once to time it: the machine record
holds the seconds (the cost table), apart from the results.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import write_json
from uncertainty.core.machine import machine_info
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.verdicts import Verdicts
from uncertainty.methods.predictors import HALVES, Inference, build, temperature_halves
from uncertainty.methods.temperature import cross_fit

SECTIONS = {"predictors": Predictors, "verdicts": Verdicts}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    # without temperatures: the temperature-scaled predictors are left out
    predictors = build(params, inference, posthoc=posthoc)
    fitted: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, dict[str, dict[str, float]]] = {}
    for name, predictor in predictors.items():
        if predictor.of is not None:  # a calibrator: timed, its fit on both halves and the test set's mapping
            for instance in predictor.instances:
                started = time.perf_counter()
                instance.output("test")
                seconds.setdefault(name, {})[instance.name] = {"fit_seconds": time.perf_counter() - started}
            continue
        labels = inference.labels(predictor.first.models[0])
        split = temperature_halves(len(labels), params.verdicts.seed)
        for instance in predictor.instances:
            pair = cross_fit(instance.output("test")["mean"], labels, split)
            fitted.setdefault(name, {})[instance.name] = dict(zip(HALVES, pair, strict=True))
        print(
            f"temperature {name}: "
            + ", ".join(f"{t[HALVES[0]]:.3f}/{t[HALVES[1]]:.3f}" for t in fitted[name].values())
        )
    write_json(paths.temperature, fitted, digits=17)  # every digit: later stages scale with these
    write_json(paths.machine, {"machine": machine_info(), "seconds": seconds})


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "inference": "every model's outputs, <model>/<set>.npz (infer stage)",
                "posthoc": "the post-hoc predictors' outputs, <predictor>/<model>/<set>.npz (posthoc stage)",
                "temperature": "predictor -> instance -> the T fitted on each half, JSON",
                "machine": "the CPU, and per calibrator and instance its fit seconds, JSON",
            },
        ),
    )
