"""Stage (one per model in train.models): the trained CNN once through every input set.

    python -m stages.infer plain --data data/dataset.npz --ood data/ood.npz --info data/dataset.json \
        --corrupted data/corrupted.npz --model models/plain.npz --output data/inference/plain \
        --machine reports/machine/infer_plain.json

The one place after training that runs a CNN on the evaluation images (the article's
noise and mc_batch stages keep their own seeds and pass counts). Writes one .npz per
input set into the output directory: `test` (the data's test set, with `labels`),
the OOD sets (the data's own, e.g. `mnist` for Fashion-MNIST, then `uniform_noise`, `gaussian_noise`
made for its image shape), `rotated` (the first
shift.test_limit test images at each shift.angles angle, arrays with a leading angle
axis), `corrupted` (the corrupt stage's images: the first corrupt.test_limit test images under
each corruption and severity, arrays with a leading (corruption, severity) axis, with the
`corruption` and `severity` of each row) and, for a deterministic CNN, `train` (the training images' features and logits, with
`labels` and the last Dense layer's `kernel` and `bias`: what post-hoc methods fit on).

* A deterministic CNN (dropout rate 0): `probs` (N, K), `logits` (N, K) and `features`
  (N, D), the activations before the last Dense layer (the article's CNN: D = 128), on every set.
* A dropout CNN: infer.mc_passes MC passes (seed infer.seed) per image, kept as the per-image
  summaries of uncertainty.models.summaries (on the test set and the first OOD set also for the first t passes
  of infer.curve_passes). Rotated and corrupted images only for the models in infer.shift_mc_models.

Also the machine record: the CPU and the seconds this model took for the test set (the cost table) and
for the corrupted images.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import keras
import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import load_npz, save_npz, write_json
from uncertainty.core.machine import machine_info
from uncertainty.core.schema.infer import Infer
from uncertainty.core.schema.mc_engine import McEngine
from uncertainty.core.schema.ood import Ood
from uncertainty.core.schema.shift import Shift
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.images import to_model_input
from uncertainty.data.ood_inputs import noise_sets, rotate_images
from uncertainty.models.classifier import features_model, head_model, head_of
from uncertainty.models.cnn import architecture, load_cnn, predict_probs
from uncertainty.models.mc import MCDropout
from uncertainty.models.summaries import summarize_passes

SECTIONS = {
    "infer": Infer,
    "mc_engine": McEngine,
    "ood": Ood,
    "shift": Shift,
    "train": Train,  # train.builder: the architecture the weights are set into
}  # the params.yaml sections it reads


class Deterministic:
    """A CNN's outputs on a set with dropout off, every image through the convolutions once: `features`
    (N, D), the input of the last Dense layer found through the graph (uncertainty.models.classifier), then
    `probs` (N, K) from the head applied to them, bit for bit predict_probs' of the whole model (the
    article's softmax), and `logits` = features @ kernel + bias (N, K) in float32."""

    def __init__(self, model: keras.Model) -> None:
        head = head_of(model)
        self.penultimate = features_model(model, head)  # built once: one trace each
        self.head = head_model(head)
        weights = head.dense.get_weights()  # kernel, and bias unless use_bias=False
        self.kernel = np.asarray(weights[0])
        self.bias = np.asarray(weights[1]) if len(weights) > 1 else np.zeros(self.kernel.shape[1], np.float32)

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        features = np.asarray(self.penultimate.predict(images, batch_size=1024, verbose=0), dtype=np.float32)
        return {
            "probs": predict_probs(self.head, features),
            "features": features,
            "logits": features @ self.kernel + self.bias,
        }


def by_condition(arrays: dict[str, np.ndarray], conditions: int) -> dict[str, np.ndarray]:
    """Outputs of images stacked condition by condition, (C * n, ...) -> (C, n, ...) each."""
    return {key: value.reshape(conditions, -1, *value.shape[1:]) for key, value in arrays.items()}


def main(params: Any, name: str, paths: argparse.Namespace) -> None:
    p = params.infer
    info = read_info(paths.info)
    builder = params.train.builder
    model, spec = load_cnn(
        paths.model, architecture(builder.file, builder.function, info.image_shape, info.num_classes)
    )
    data = load_npz(paths.data, keys=("x_train", "y_train", "x_test", "y_test"))
    corrupted = load_npz(paths.corrupted, keys=("images", "corruption", "severity"))
    conditions = len(corrupted["images"])
    shape = info.image_shape
    corrupted_images = to_model_input(corrupted["images"].reshape(-1, *corrupted["images"].shape[2:]), shape)
    test = to_model_input(data["x_test"], shape)
    limit = params.shift.test_limit or len(test)
    angles = params.shift.angles
    ood = load_npz(paths.ood, keys=tuple(f"ood_{name}" for name in info.ood))
    sets = {
        "test": test,
        **{name: to_model_input(ood[f"ood_{name}"], shape) for name in info.ood},
        **noise_sets(params.ood, shape),
    }
    # The quality-against-T curves: the test set and the first OOD set in report order (vocabulary.first_ood's).
    curve_sets = ("test", next(name for name in sets if name != "test"))
    stochastic = float(spec["dropout_rate"]) > 0
    deterministic = not stochastic or name in p.also_without_dropout
    outputs: dict[str, dict[str, np.ndarray]] = {}
    rotated: list[dict[str, np.ndarray]] = []
    corrupted_seconds = 0.0  # a dropout CNN not in infer.shift_mc_models is not run on them
    timings = {}

    if deterministic:
        run = Deterministic(model)
        run(test[:8])  # warm-up: compile time is not the per-image cost
        for set_name, images in sets.items():
            started = time.perf_counter()
            outputs[set_name] = run(images)
            if set_name == "test":  # the predictor's cost (its softmax comes with the features)
                timings["test_set_seconds"] = time.perf_counter() - started
        # What post-hoc methods fit on: the training images' features and the last layer they feed.
        train = run(to_model_input(data["x_train"], shape))
        outputs["train"] = {
            "features": train["features"],
            "logits": train["logits"],
            "kernel": run.kernel,
            "bias": run.bias,
        }
        # Every angle in one call (each image's outputs do not depend on the others in its batch).
        together = run(np.concatenate([rotate_images(test[:limit], a) for a in angles]))
        rotated = [
            dict(zip(together, parts, strict=True))
            for parts in zip(*(np.split(array, len(angles)) for array in together.values()), strict=True)
        ]
        started = time.perf_counter()
        outputs["corrupted"] = by_condition(run(corrupted_images), conditions)
        corrupted_seconds = time.perf_counter() - started
    if stochastic:
        if deterministic:  # MC dropout's cost is the table's; the deterministic pass's is kept beside it
            timings["test_set_seconds_without_dropout"] = timings.pop("test_set_seconds")
        sampler = MCDropout(model, p.seed, **params.mc_engine.model_dump(), head=head_of(model))
        sampler.sample(test[:8], 2)  # warm-up (XLA compiles once per shape)
        for set_name, images in sets.items():
            started = time.perf_counter()
            stack = sampler.sample(images, p.mc_passes)  # (T, N, K)
            if set_name == "test":
                timings["test_set_seconds"] = time.perf_counter() - started
            summary = summarize_passes(stack, p.curve_passes if set_name in curve_sets else ())
            outputs[set_name] = {**outputs.get(set_name, {}), **summary}
            print(f"infer {name}: {set_name}, {len(images)} images x {p.mc_passes} passes", flush=True)
            del stack
        if name in p.shift_mc_models:
            sampled = []
            for angle in angles:
                stack = sampler.sample(rotate_images(test[:limit], angle), p.mc_passes)
                sampled.append(summarize_passes(stack))
            rotated = [{**r, **m} for r, m in zip(rotated, sampled, strict=True)] if rotated else sampled
            print(f"infer {name}: rotated, {len(angles)} angles x {limit} images", flush=True)
            started = time.perf_counter()
            stack = sampler.sample(corrupted_images, p.mc_passes)  # (T, C * n, K)
            summary = by_condition(summarize_passes(stack), conditions)
            outputs["corrupted"] = {**outputs.get("corrupted", {}), **summary}
            corrupted_seconds = time.perf_counter() - started
            del stack
            print(f"infer {name}: corrupted, {conditions} corruptions and severities", flush=True)
    if rotated:  # one array per quantity with a leading angle axis (A, ...)
        outputs["rotated"] = {
            "angles": np.asarray(angles, dtype=np.int64),
            **{key: np.stack([r[key] for r in rotated]) for key in rotated[0]},
        }
    if "corrupted" in outputs:
        outputs["corrupted"].update(corruption=corrupted["corruption"], severity=corrupted["severity"])
    outputs["test"]["labels"] = data["y_test"].astype(np.int64)
    if "train" in outputs:
        outputs["train"]["labels"] = data["y_train"].astype(np.int64)

    paths.output.mkdir(parents=True, exist_ok=True)
    for set_name, arrays in outputs.items():
        save_npz(paths.output / f"{set_name}.npz", arrays)
    write_json(
        paths.machine,
        {
            "machine": machine_info(),
            "test_images": len(test),
            "passes_per_image": p.mc_passes if stochastic else 1,
            **timings,
            "corrupted_images": int(np.prod(corrupted["images"].shape[:2])) if "corrupted" in outputs else 0,
            "corrupted_seconds": corrupted_seconds,  # what the corrupted images cost (the shift's cost)
        },
    )
    print(f"infer {name}: {', '.join(outputs)} -> {paths.output}")


if __name__ == "__main__":
    arguments = parse_paths(
        __doc__,
        {
            "data": "the data's arrays (prepare_data stage)",
            "ood": "the data's own OOD sets (prepare_data stage)",
            "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
            "corrupted": "the corrupted test images (corrupt stage)",
            "model": "the trained CNN, .npz (train stage)",
            "output": "the directory of this model's outputs, one .npz per input set",
            "machine": "the CPU and the test-set seconds, JSON",
        },
        positional={"name": "model name from train.models"},
    )
    run(main, SECTIONS, arguments.name, arguments)
