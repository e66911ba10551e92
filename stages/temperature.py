"""Stage: the temperatures, fitted once for every instance of every predictor and written once.

Each instance's test-set predictive distribution is fitted by NLL on one seeded half of
the test set and the other (uncertainty.temperature: cross-fitting, since the article
trains on all 60,000 training images). Every later stage scales with these numbers.
"""

from __future__ import annotations

import argparse
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.io import write_json
from uncertainty.predictors import HALVES, Inference, build, temperature_halves
from uncertainty.schema.predictors import Predictors
from uncertainty.schema.verdicts import Verdicts
from uncertainty.temperature import cross_fit

SECTIONS = {"predictors": Predictors, "verdicts": Verdicts}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    inference, posthoc = Inference(paths.inference), Inference(paths.posthoc)
    # without temperatures: the scaled predictors are left out
    predictors = build(params, inference, posthoc=posthoc)
    fitted: dict[str, dict[str, dict[str, float]]] = {}
    for name, predictor in predictors.items():
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
            },
        ),
    )
