"""Stage: three seeded regressors on the same data (article 1.2, docs/article.md) and their extrapolation.

Metrics: each model's prediction at x = predict_at, their mean and std, and the
std across models inside the data and outside it (the weights are uncertain,
and it shows most where there is no data).
"""

from __future__ import annotations

import argparse
from typing import Any

import keras
import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import write_json, write_text
from uncertainty.core.names import format_number
from uncertainty.core.schema.regression import Regression
from uncertainty.models.regressors import build_regressor, train_regressors
from uncertainty.models.runtime import seed_everything

SECTIONS = {"regression": Regression}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.regression
    table = np.loadtxt(paths.data, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    x, y = table[:, :1], table[:, 1:]  # (n, 1) each
    seed_everything(min(p.seeds.values()))
    models = {name: build_regressor(name, seed, p.units) for name, seed in p.seeds.items()}
    losses = train_regressors(x, y, models, p.epochs, p.learning_rate)

    low, high = p.extrapolate_range
    grid = np.linspace(low, high, round((high - low) * 4) + 1, dtype=np.float32)[:, None]
    points = np.array([p.predict_at, *p.spread_at], np.float32)[:, None]
    curves = {
        name: keras.ops.convert_to_numpy(model(grid, training=False))[:, 0] for name, model in models.items()
    }
    at = {
        name: keras.ops.convert_to_numpy(model(points, training=False))[:, 0]
        for name, model in models.items()
    }
    stacked = np.stack(list(at.values()))  # (models, points)

    tag = format_number(p.predict_at)
    metrics: dict[str, Any] = {
        f"pred_at_{tag}": {name: values[0] for name, values in at.items()},
        f"pred_at_{tag}_mean": stacked[:, 0].mean(),
        f"pred_at_{tag}_std": stacked[:, 0].std(),
        "final_mse": losses,
    }
    for index, where in enumerate(p.spread_at, start=1):
        metrics[f"spread_at_{format_number(where)}"] = stacked[:, index].std()
    write_json(paths.metrics, metrics)

    names = list(curves)
    header = "x," + ",".join(names) + ",mean,std\n"
    values = np.stack([curves[n] for n in names], axis=1)  # (grid, models)
    rows = "".join(
        ",".join(f"{v:.5f}" for v in (g, *row, row.mean(), row.std())) + "\n"
        for g, row in zip(grid[:, 0], values)
    )
    write_text(paths.curve, header + rows)
    summary = ", ".join(f"{n} {v[0]:.2f}" for n, v in at.items())
    print(f"regression: prediction at x={tag}: {summary}")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "data": "the linear data (linear_data stage)",
                "metrics": "predictions and spreads, JSON",
                "curve": "every model's extrapolation curve, CSV (DVC plots)",
            },
        ),
    )
