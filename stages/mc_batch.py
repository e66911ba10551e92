"""Stage: MC dropout on one test batch (article 1.6, 1.8, 1.9; docs/article.md).

The same batch through the plain model and through T stochastic passes of
the dropout model; the median over passes is the article's final prediction,
the percentile band per class its 95 % interval.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run, skipped
from uncertainty.core.article import DROPOUT, PLAIN, not_the_article
from uncertainty.core.io import load_npz, save_npz, write_json
from uncertainty.core.schema.mc_batch import McBatch
from uncertainty.core.schema.mc_engine import McEngine
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.images import to_model_input
from uncertainty.models.cnn import architecture, load_cnn, predict_probs
from uncertainty.models.mc import MCDropout

SECTIONS = {"mc_batch": McBatch, "mc_engine": McEngine, "train": Train}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p, engine = params.mc_batch, params.mc_engine.model_dump()
    info = read_info(paths.info)
    if skipped(not_the_article(info.source, params.train), paths.metrics, paths.output, "mc_batch"):
        return
    data = load_npz(paths.data, keys=("x_test", "y_test"))
    start = p.batch_index * p.batch_size
    builder = params.train.builder
    build = architecture(builder.file, builder.function, info.image_shape, info.num_classes)
    images = to_model_input(data["x_test"][start : start + p.batch_size], info.image_shape)  # (B, H, W, C)
    labels = data["y_test"][start : start + p.batch_size].astype(np.int64)  # (B,)

    plain, _ = load_cnn(paths.models / f"{PLAIN}.npz", build)
    dropout, _ = load_cnn(paths.models / f"{DROPOUT}.npz", build)
    plain_probs = predict_probs(plain, images)  # (B, 10)
    sampler = MCDropout(dropout, p.seed, **engine)
    passes = sampler.sample(images, p.passes)  # (T, B, 10)
    median = np.median(passes, axis=0)  # (B, 10); the article's final prediction
    low, high = np.percentile(passes, p.percentiles, axis=0)  # (B, 10) each
    top = median.argmax(axis=1)
    width = (high - low)[np.arange(len(top)), top]

    save_npz(
        paths.output,
        {
            "median": median,
            "low": low,
            "high": high,
            "plain": plain_probs,
            "labels": labels,
            "images": images,
        },
    )
    metrics = {
        "accuracy_plain": float((plain_probs.argmax(1) == labels).mean()),
        "accuracy_mc_median": float((top == labels).mean()),
        "accuracy_mc_mean": float((passes.mean(0).argmax(1) == labels).mean()),
        "passes": p.passes,
        "mean_interval_width_top_class": float(width.mean()),
    }
    write_json(paths.metrics, metrics)

    print(
        f"mc_batch: accuracy plain {metrics['accuracy_plain']:.3f}, "
        f"median of {p.passes} passes {metrics['accuracy_mc_median']:.3f}"
    )


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "data": "the data's arrays (prepare_data stage)",
                "info": "the data's class names and image shape, JSON (prepare_data stage)",
                "models": "the trained models' folder: the article's plain and dropout CNNs (train stage)",
                "output": "the batch, the median and percentile band of its passes, the plain softmax, .npz (for the figures)",
                "metrics": "accuracies and interval width, JSON",
            },
        ),
    )
