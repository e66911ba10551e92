"""Stage (one per model in train.models): train a CNN (SPEC 1.4, 1.5) on Fashion-MNIST.

    python -m stages.train plain

Writes models/<name>.npz (weights + build spec, byte-stable), the metrics
reports/metrics/train_<name>.json, the per-epoch history
reports/plots/train_<name>.csv (declared as DVC plots; the training_figures
stage draws it) and reports/machine/train_<name>.json: the CPU that trained it and the seconds it took,
since another CPU rounds differently from the first step on (README, "Reproducibility").
"""

from __future__ import annotations

import sys
import time
from typing import Any

from stages.common import run
from uncertainty.cnn import save_cnn
from uncertainty.errors import PipelineError
from uncertainty.fashion_mnist import one_hot, to_model_input
from uncertainty.io import load_npz, write_json, write_text
from uncertainty.machine import machine_info
from uncertainty.runtime import seed_everything
from uncertainty.training import HISTORY_COLUMNS, evaluate, history_csv, train_cnn

DATA = "data/fashion_mnist.npz"


def train(params: dict[str, Any], name: str) -> None:
    p = params["train"]
    if name not in p["models"]:
        raise PipelineError(
            f"params.yaml: train.models has no model {name!r}; defined: {', '.join(p['models'])}"
        )
    spec = p["models"][name]
    data = load_npz(DATA, keys=("x_train", "y_train", "x_test", "y_test"))
    x_train, y_train = to_model_input(data["x_train"]), one_hot(data["y_train"])
    x_test, y_test = to_model_input(data["x_test"]), one_hot(data["y_test"])

    seed_everything(spec["seed"])
    started = time.perf_counter()
    print(
        f"train {name}: dropout {spec['dropout_rate']}, seed {spec['seed']}, {len(x_train)} images",
        flush=True,
    )
    model, history = train_cnn(
        spec["dropout_rate"],
        spec["seed"],
        (x_train, y_train),
        (x_test, y_test),  # as the article: validated on the test split
        spec.get("epochs", p["epochs"]),  # a model's own epochs, if set, win (sweeps)
        p["batch_size"],
        p["learning_rate"],
        p["strategy"],
    )
    seconds = time.perf_counter() - started  # fit only: the training cost of this model on this machine
    test = evaluate(model, (x_test, y_test))

    save_cnn(f"models/{name}.npz", model, {"name": name, **spec})
    write_json(
        f"reports/metrics/train_{name}.json",
        {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "train_accuracy": history["accuracy"][-1],
            "train_loss": history["loss"][-1],
            "params": model.count_params(),
        },
    )
    write_text(f"reports/plots/train_{name}.csv", history_csv(history, HISTORY_COLUMNS))
    epochs = len(history["loss"])
    write_json(
        f"reports/machine/train_{name}.json",
        {"machine": machine_info(), "train_seconds": seconds, "epochs": epochs, "images": len(x_train)},
    )
    print(f"train {name}: test accuracy {test['accuracy']:.4f}, test loss {test['loss']:.4f}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stages.train <model name from train.models>")
    run(lambda params: train(params, sys.argv[1]))


if __name__ == "__main__":
    main()
