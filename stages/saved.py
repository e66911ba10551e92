"""Stage (one per model in train.saved): a model's saved outputs, as the infer stage writes a model's.

    python -m stages.saved mine_1 --data data/dataset.npz --info data/dataset.json --output data/inference/mine_1

Reads training `train.saved.<name>.training` of its predictions file (uncertainty.data.predictions, checked
there: one line naming the key for a bad array) and writes one .npz per set into the output directory, in
the infer stage's layout, so every later stage reads a saved model as it reads one run here: `probs`,
`logits`, `features` as given; MC passes as the per-image summaries of uncertainty.models.summaries (the
test set and the first OOD set also for the first t passes of infer.curve_passes); `train` with the last
layer's `kernel` and `bias`; the shift sets with their conditions. Nothing is run and nothing is measured:
a saved model has no inference cost here (the report's cost table leaves it out).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.errors import PipelineError
from uncertainty.core.io import load_npz, save_npz
from uncertainty.core.schema.infer import Infer
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.predictions import SHIFTS, check, read
from uncertainty.models.summaries import summarize_passes

SECTIONS = {"infer": Infer, "train": Train}  # the params.yaml sections it reads


def summaries(passes: np.ndarray, conditions: int, curve_passes: tuple[int, ...]) -> dict[str, np.ndarray]:
    """MC passes (T, [C,] n, K) as the infer stage keeps them: summaries per image, with the condition axis."""
    if not conditions:
        return summarize_passes(passes, curve_passes)
    flat = summarize_passes(passes.reshape(len(passes), -1, passes.shape[-1]))  # (T, C * n, K)
    return {key: value.reshape(conditions, -1, *value.shape[1:]) for key, value in flat.items()}


def outputs(
    training: dict[str, dict[str, np.ndarray]], curve_sets: tuple[str, ...], curve_passes: tuple[int, ...]
) -> dict[str, dict[str, np.ndarray]]:
    """One training's arrays per set (Saved.training) -> the infer stage's files, by their set names."""
    found: dict[str, dict[str, np.ndarray]] = {}
    for set_name, arrays in training.items():
        name = set_name.removeprefix("ood_")
        out = {key: value for key, value in arrays.items() if key != "mc_probs"}
        if set_name == "train" and "logits" not in out:  # as the infer stage computes them, in float32
            out["logits"] = out["features"] @ out["kernel"] + out["bias"]
        if "mc_probs" in arrays:
            conditions = len(arrays["mc_probs"][0]) if set_name in SHIFTS else 0
            out.update(summaries(arrays["mc_probs"], conditions, curve_passes if name in curve_sets else ()))
        found[name] = out
    return found


def main(params: Any, name: str, paths: argparse.Namespace) -> None:
    spec = params.train.saved[name]
    info = read_info(paths.info)
    saved = check(read(spec.file), spec.file)
    if spec.training >= len(saved.training_names):
        raise PipelineError(
            f"params.yaml: train.saved.{name}.training: should be below {len(saved.training_names)} "
            f"(the trainings of {spec.file}), got {spec.training}"
        )
    labels = load_npz(paths.data, keys=("y_test",))["y_test"]
    if not np.array_equal(saved.labels["test"], labels):
        raise PipelineError(
            f"{spec.file}: y_test: not the labels of the prepared data (params.yaml prepare.file); expected the "
            "same test images in the same order in every predictions file"
        )
    if saved.ood != tuple(info.ood):
        raise PipelineError(
            f"{spec.file}: its OOD sets are {', '.join(saved.ood) or 'none'}; expected those of prepare.file "
            f"({', '.join(info.ood) or 'none'})"
        )
    if spec.mc_samples != saved.mc:
        raise PipelineError(
            f"params.yaml: train.saved.{name}.mc_samples: should be {str(saved.mc).lower()} ({spec.file} "
            f"{'holds' if saved.mc else 'holds no'} test_mc_logits or test_mc_probs), got {str(spec.mc_samples).lower()}"
        )
    curve_sets = (
        "test",
        next(iter(info.ood), "test"),
    )  # as the infer stage: the test set and the first OOD set
    files = outputs(saved.training(spec.training), curve_sets, tuple(params.infer.curve_passes))
    paths.output.mkdir(parents=True, exist_ok=True)
    for set_name, arrays in files.items():
        save_npz(paths.output / f"{set_name}.npz", arrays)
    print(f"saved {name}: training {spec.training} of {spec.file}: {', '.join(files)} -> {paths.output}")


if __name__ == "__main__":
    arguments = parse_paths(
        __doc__,
        {
            "data": "the prepared labels (prepare_data stage)",
            "info": "the data's class names and OOD sets, JSON (prepare_data stage)",
            "output": "the directory of this model's outputs, one .npz per input set",
        },
        positional={"name": "model name from train.saved"},
    )
    run(main, SECTIONS, arguments.name, arguments)
