"""Stage: every model of train.models beside chance and beside its training (uncertainty.evaluation.health).

    python -m stages.health --data data/dataset.npz --info data/dataset.json --models models \
        --metrics reports/metrics/health.json

Per model (models/<name>.npz, loaded as the infer stage does): its accuracy on the whole test set and on
the first health.train_images training images in inference mode and, for a model with BatchNormalization,
on the same training images in training mode (each batch of train.batch_size normalized by its own
statistics, the model unchanged: uncertainty.models.modes). Writes {model: record} (uncertainty.evaluation.health.assess:
chance, the accuracies and the problems found, with `train_images`, how many were measured); the report
names a model with a problem in its first lines and marks the rows that rest on it.
"""

from __future__ import annotations

import argparse
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import load_npz, write_json
from uncertainty.core.schema.health import Health
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.images import to_model_input
from uncertainty.evaluation.health import assess, class_counts
from uncertainty.models.classifier import has_batch_norm
from uncertainty.models.cnn import architecture, load_cnn
from uncertainty.models.modes import inference_accuracy, training_mode_accuracy

SECTIONS = {"health": Health, "train": Train}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    info = read_info(paths.info)
    builder, p = params.train.builder, params.health
    models = [name for name, spec in params.train.models.items() if spec.saved is None]  # imported included
    if not models:  # saved predictions only: no model to run (the report reads their accuracies elsewhere)
        write_json(paths.metrics, {})
        print("health: no model to run (saved predictions)")
        return
    build = architecture(builder.file, builder.function, info.image_shape, info.num_classes)
    data = load_npz(paths.data, keys=("x_train", "y_train", "x_test", "y_test"))
    train_images = to_model_input(data["x_train"][: p.train_images], info.image_shape)
    train_labels = data["y_train"][: p.train_images]
    test_images = to_model_input(data["x_test"], info.image_shape)
    counts = class_counts(data["y_test"], info.num_classes)
    records = {}
    for name in models:
        model, _ = load_cnn(paths.models / f"{name}.npz", build)
        training_mode = (
            training_mode_accuracy(model, train_images, train_labels, params.train.batch_size)
            if has_batch_norm(model)
            else None
        )
        records[name] = assess(
            info.num_classes,
            counts,
            inference_accuracy(model, test_images, data["y_test"]),
            inference_accuracy(model, train_images, train_labels),
            training_mode,
            chance_margin=p.chance_margin,
            max_gap=p.max_gap,
        )  # the Keras history's accuracy is train_<name>.json's, not a dep here: the report sets it beside
        records[name]["train_images"] = len(train_labels)
        kinds = ", ".join(problem["kind"] for problem in records[name]["problems"]) or "fine"
        print(f"health {name}: test {records[name]['test_accuracy']:.4f}, {kinds}", flush=True)
    write_json(paths.metrics, records)


if __name__ == "__main__":
    arguments = parse_paths(
        __doc__,
        {
            "data": "the data's arrays (prepare_data stage)",
            "info": "the data's class names and image shape, JSON (prepare_data stage)",
            "models": "the folder of the trained CNNs, <name>.npz (train and import stages)",
            "metrics": "each model's accuracies beside chance and its problems, JSON",
        },
    )
    run(main, SECTIONS, arguments)
