"""Stage (one per model in train.models): train a classifier of train.builder on the data (docs/article.md 1.4, 1.5).

    python -m stages.train plain --data data/dataset.npz --info data/dataset.json --model models/plain.npz \
        --metrics reports/metrics/train_plain.json --history reports/plots/train_plain.csv \
        --machine reports/machine/train_plain.json

An entry with a `file` (a .keras model trained elsewhere, in inputs/) is not trained: it is loaded
safely, held to the builder contract, measured on the training and test images and stored like
the others (its Keras config beside the weights). dvc.yaml defines the paths once and passes them. Writes the model (weights + build
spec, byte-stable), its metrics, its per-epoch history as Keras' CSVLogger writes it
(epochs from 0; declared as DVC plots, drawn by the training_figures stage) and the
machine record: the CPU that trained it and the seconds it took, since another CPU
rounds differently from the first step on (README, "Reproducibility").
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import keras
import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.errors import PipelineError
from uncertainty.core.io import load_npz, write_json, write_text
from uncertainty.core.machine import machine_info
from uncertainty.core.schema.train import Train
from uncertainty.data.dataset_info import read_info
from uncertainty.data.images import one_hot, to_model_input
from uncertainty.models.classifier import head_of
from uncertainty.models.cnn import architecture, compile_cnn, import_keras, save_cnn
from uncertainty.models.runtime import seed_everything, set_threads_for_shards
from uncertainty.models.training import evaluate, train_cnn

SECTIONS = {"train": Train}  # the params.yaml sections it reads


def imported(
    file: str,
    dropout_rate: float,
    info: Any,
    learning_rate: float,
    data: tuple[tuple[np.ndarray, np.ndarray], ...],
) -> tuple[keras.Model, dict[str, list[float]], str, dict[str, float]]:
    """A .keras file held to the contract, and its loss and accuracy on the training and test images as a
    one-row history (epoch 0), as train_cnn and evaluate report a trained one."""
    model = import_keras(file, info.image_shape, info.num_classes, dropout_rate)
    compile_cnn(model, learning_rate, from_logits=head_of(model).outputs_logits)
    fitted, test = (evaluate(model, split) for split in data)
    history_csv = (
        "epoch,accuracy,loss,val_accuracy,val_loss\n"
        f"0,{fitted['accuracy']!r},{fitted['loss']!r},{test['accuracy']!r},{test['loss']!r}\n"
    )
    return model, {"accuracy": [fitted["accuracy"]], "loss": [fitted["loss"]]}, history_csv, test


def train(params: Any, name: str, paths: argparse.Namespace) -> None:
    p = params.train
    if name not in p.models:
        raise PipelineError(
            f"params.yaml: train.models has no model {name!r}; defined: {', '.join(p.models)}"
        )
    spec = p.models[name]
    threads = set_threads_for_shards(p.batch_shards)  # before TensorFlow's first op
    info = read_info(paths.info)
    build = architecture(p.builder.file, p.builder.function, info.image_shape, info.num_classes)
    if not spec.file:
        build(spec.dropout_rate)  # the contract checked before anything is read or trained
    data = load_npz(paths.data, keys=("x_train", "y_train", "x_test", "y_test"))
    x_train, y_train = (
        to_model_input(data["x_train"], info.image_shape),
        one_hot(data["y_train"], info.num_classes),
    )
    x_test, y_test = (
        to_model_input(data["x_test"], info.image_shape),
        one_hot(data["y_test"], info.num_classes),
    )

    if spec.file:  # trained elsewhere: checked, measured and stored as it is
        splits = ((x_train, y_train), (x_test, y_test))
        model, history, history_csv, test = imported(
            spec.file, spec.dropout_rate, info, p.learning_rate, splits
        )
        seconds = 0.0  # no training here
        stored = {"name": name, **spec.model_dump(exclude_none=True), "keras_config": model.to_json()}
        print(f"train {name}: imported {spec.file} (no training)", flush=True)
    else:
        seed_everything(spec.seed)
        started = time.perf_counter()
        print(
            f"train {name}: dropout {spec.dropout_rate}, seed {spec.seed}, {len(x_train)} images",
            flush=True,
        )
        model, history, history_csv = train_cnn(
            spec.dropout_rate,
            spec.seed,
            (x_train, y_train),
            (x_test, y_test),  # as the article: validated on the test split
            spec.epochs or p.epochs,  # a model's own epochs, if set, win (sweeps)
            p.batch_size,
            p.learning_rate,
            p.strategy,
            p.steps_per_execution,
            p.batch_shards,
            build=build,
        )
        seconds = time.perf_counter() - started  # fit only: the training cost of this model on this machine
        test = evaluate(model, (x_test, y_test), build, p.strategy)
        stored = {"name": name, **spec.model_dump(exclude_none=True)}

    # The spec as the file wrote it (epochs only if set): the same model file bytes as from the YAML mapping.
    save_cnn(paths.model, model, stored)
    write_json(
        paths.metrics,
        {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "train_accuracy": history["accuracy"][-1],
            "train_loss": history["loss"][-1],
            "params": model.count_params(),
        },
    )
    write_text(paths.history, history_csv)
    epochs = 0 if spec.file else len(history["loss"])  # an imported model was trained elsewhere
    write_json(
        paths.machine,
        {
            "machine": machine_info(),
            "train_seconds": seconds,
            "epochs": epochs,
            "images": len(x_train),
            "threads": threads,
        },
    )
    print(f"train {name}: test accuracy {test['accuracy']:.4f}, test loss {test['loss']:.4f}")


def main() -> None:
    paths = parse_paths(
        __doc__,
        {
            "data": "the data's arrays (prepare_data stage)",
            "info": "the data's class names and image shape, JSON (prepare_data stage)",
            "model": "the trained CNN, .npz",
            "metrics": "test and final training loss and accuracy, JSON",
            "history": "the per-epoch history, CSV (DVC plots)",
            "machine": "the CPU that trained it and the seconds it took, JSON",
        },
        positional={"name": "model name from train.models"},
    )
    run(train, SECTIONS, paths.name, paths)


if __name__ == "__main__":
    main()
