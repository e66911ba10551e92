"""Stage: the whole test set through the three predictors, computed once.

Writes data/predictions/test.npz with the softmax stacks (S, N, 10) of
`plain` (S = 1), `mc_dropout` (S = T passes) and `ensemble` (S = M members),
and the labels. The evaluate and ood stages read it instead of recomputing.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.fashion_mnist import to_model_input
from uncertainty.io import load_npz, save_npz
from uncertainty.predictors import load_predictors, predict_all, progress


def main(params: dict[str, Any], paths: argparse.Namespace) -> None:
    data = load_npz(paths.data, keys=("x_test", "y_test"))
    images, labels = to_model_input(data["x_test"]), data["y_test"].astype(np.int64)
    plain, sampler, members = load_predictors(params, paths.models)
    passes = params["predict"]["mc_passes"]
    stacks = predict_all(images, plain, sampler, passes, members, progress=progress("predict"))
    save_npz(paths.output, {**stacks, "labels": labels})
    accuracy = {name: float((stack.mean(0).argmax(1) == labels).mean()) for name, stack in stacks.items()}
    print(
        f"predict: {len(images)} test images, T = {passes}, M = {len(members)}; accuracy "
        + ", ".join(f"{name} {value:.4f}" for name, value in accuracy.items())
    )


if __name__ == "__main__":
    run(
        main,
        parse_paths(
            __doc__,
            {
                "data": "Fashion-MNIST arrays (prepare_data stage)",
                "models": "the directory of trained CNNs, <name>.npz (train stage)",
                "output": "the softmax stacks of the three predictors and the labels, .npz",
            },
        ),
    )
