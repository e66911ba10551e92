"""Stage: the whole test set through the three predictors, computed once.

Writes data/predictions/test.npz with the softmax stacks (S, N, 10) of
`plain` (S = 1), `mc_dropout` (S = T passes) and `ensemble` (S = M members),
and the labels. The evaluate and ood stages read it instead of recomputing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stages.common import run
from uncertainty.data import to_model_input
from uncertainty.evaluation import predict_all
from uncertainty.io import load_npz, save_npz
from uncertainty.mc import MCDropout
from uncertainty.models import load_cnn

DATA = "data/fashion_mnist.npz"
OUTPUT = "data/predictions/test.npz"


def load_predictors(params: dict[str, Any]) -> tuple[Any, MCDropout, list[Any]]:
    """The plain CNN, an MC sampler over the dropout CNN, and the ensemble members."""
    p, engine = params["predict"], params["mc_engine"]
    plain, _ = load_cnn("models/plain.npz")
    dropout, _ = load_cnn("models/dropout.npz")
    sampler = MCDropout(dropout, p["seed"], **engine)
    members = [load_cnn(f"models/{name}.npz")[0] for name in p["ensemble"]]
    return plain, sampler, members


def progress(label: str) -> Callable[[int, int], None]:
    """A callback printing MC progress about five times per call."""

    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 5) == 0:
            print(f"{label}: MC batch {done}/{total}", flush=True)

    return report


def main(params: dict[str, Any]) -> None:
    data = load_npz(DATA, keys=("x_test", "y_test"))
    images, labels = to_model_input(data["x_test"]), data["y_test"].astype(np.int64)
    plain, sampler, members = load_predictors(params)
    passes = params["predict"]["mc_passes"]
    stacks = predict_all(images, plain, sampler, passes, members, progress=progress("predict"))
    save_npz(OUTPUT, {**stacks, "labels": labels})
    accuracy = {name: float((stack.mean(0).argmax(1) == labels).mean()) for name, stack in stacks.items()}
    print(
        f"predict: {len(images)} test images, T = {passes}, M = {len(members)}; accuracy "
        + ", ".join(f"{name} {value:.4f}" for name, value in accuracy.items())
    )


if __name__ == "__main__":
    run(main)
