"""The trained CNNs as predictors: the plain CNN, an MC sampler over a dropout CNN, the ensemble; their softmax stacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from uncertainty.cnn import load_cnn, predict_probs
from uncertainty.mc import MCDropout


def load_predictors(params: dict[str, Any], models: str | Path) -> tuple[Any, MCDropout, list[Any]]:
    """The plain CNN, an MC sampler over the dropout CNN, and the ensemble members (predict.ensemble).

    `models` is the directory the train stages write, one <name>.npz per model in train.models.
    """
    p, engine = params["predict"], params["mc_engine"]
    plain, _ = load_cnn(Path(models, "plain.npz"))
    dropout, _ = load_cnn(Path(models, "dropout.npz"))
    sampler = MCDropout(dropout, p["seed"], **engine)
    members = [load_cnn(Path(models, f"{name}.npz"))[0] for name in p["ensemble"]]
    return plain, sampler, members


def progress(label: str) -> Callable[[int, int], None]:
    """A callback printing MC progress about five times per call."""

    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 5) == 0:
            print(f"{label}: MC batch {done}/{total}", flush=True)

    return report


def predict_all(
    images: np.ndarray,
    plain: keras.Model,
    sampler: MCDropout,
    passes: int,
    members: Sequence[keras.Model],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Softmax stacks (S, N, 10) of the three predictors for float32 images (N, 28, 28, 1)."""
    return {
        "plain": predict_probs(plain, images)[None],
        "mc_dropout": sampler.sample(images, passes, progress=progress),
        "ensemble": np.stack([predict_probs(member, images) for member in members]),
    }
