"""Stage: softmax on one uniform noise image (article 1.7, docs/article.md).

The plain model is deterministic (repeated predictions identical) and often
confidently wrong on noise; single dropout passes differ; their mean is less
confident.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run, skipped
from uncertainty.core.article import DROPOUT, PLAIN, not_the_article
from uncertainty.core.io import save_npz, write_json
from uncertainty.core.schema.mc_engine import McEngine
from uncertainty.core.schema.noise import Noise
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.ood_inputs import noise_images
from uncertainty.models.cnn import architecture, load_cnn, predict_probs
from uncertainty.models.mc import MCDropout

SECTIONS = {"noise": Noise, "mc_engine": McEngine, "train": Train}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p, engine = params.noise, params.mc_engine.model_dump()
    info, builder = read_info(paths.info), params.train.builder
    if skipped(not_the_article(info.source, params.train), paths.metrics, paths.output, "noise"):
        return
    build = architecture(builder.file, builder.function, info.image_shape, info.num_classes)
    image = noise_images("uniform", 1, p.seed, info.image_shape)  # (1, H, W, C) in [0, 1)
    plain, _ = load_cnn(paths.models / f"{PLAIN}.npz", build)
    dropout, _ = load_cnn(paths.models / f"{DROPOUT}.npz", build)

    repeats = np.stack([predict_probs(plain, image)[0] for _ in range(p.repeats)])  # (repeats, K)
    sampler = MCDropout(dropout, p.seed, **engine)
    singles = sampler.sample(image, p.single_passes)[:, 0]  # (single_passes, K)
    mean = sampler.sample(image, p.mean_passes).mean(axis=0)[0]  # (K,)

    def top(probs: np.ndarray) -> dict[str, Any]:
        return {"top_class": int(probs.argmax()), "top_prob": float(probs.max())}

    write_json(
        paths.metrics,
        {
            "plain": top(repeats[0]),
            "dropout_mean": top(mean),
            "plain_repeat_max_abs_diff": float(np.abs(repeats - repeats[0]).max()),
            "dropout_single_pass_std": float(singles.std(axis=0).mean()),
            "dropout_single_pass_class0": {f"pass_{i}": float(v) for i, v in enumerate(singles[:, 0])},
        },
    )
    save_npz(paths.output, {"image": image[0], "plain": repeats[0], "dropout_mean": mean})
    print(
        f"noise: plain says class {repeats[0].argmax()} at {repeats[0].max():.1%}; "
        f"dropout mean says class {mean.argmax()} at {mean.max():.1%}"
    )


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names and image shape, JSON (prepare_data stage)",
                "models": "the trained models' folder: the article's plain and dropout CNNs (train stage)",
                "output": "the image and both predictions, .npz (the figures stage draws them)",
                "metrics": "top classes and spreads, JSON",
            },
        ),
    )
