"""Stage (one per model in train.models): train a CNN (SPEC 1.4, 1.5) on Fashion-MNIST.

    python -m stages.train plain

Writes models/<name>.npz (weights + build spec, byte-stable), the metrics
reports/metrics/train_<name>.json and the per-epoch history
reports/plots/train_<name>.csv (declared as DVC plots).
"""

from __future__ import annotations

import sys
from typing import Any

from stages.common import run
from uncertainty.data import one_hot, to_model_input
from uncertainty.errors import PipelineError
from uncertainty.io import load_npz, write_json, write_text
from uncertainty.models import save_cnn, seed_everything
from uncertainty.plots import plot_history
from uncertainty.training import evaluate, train_cnn

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
    print(f"train {name}: dropout {spec['dropout_rate']}, seed {spec['seed']}, {len(x_train)} images")
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
    test = evaluate(model, (x_test, y_test))
    test_loss, test_accuracy = test["loss"], test["accuracy"]

    save_cnn(f"models/{name}.npz", model, {"name": name, **spec})
    write_json(
        f"reports/metrics/train_{name}.json",
        {
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
            "train_accuracy": history["accuracy"][-1],
            "train_loss": history["loss"][-1],
            "params": model.count_params(),
        },
    )
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    rows = "".join(
        f"{epoch + 1}," + ",".join(f"{history[c][epoch]:.6f}" for c in columns) + "\n"
        for epoch in range(len(history["loss"]))
    )
    write_text(f"reports/plots/train_{name}.csv", "epoch," + ",".join(columns) + "\n" + rows)
    plot_history(history, f"reports/figures/history_{name}.png", f"{name} CNN")
    print(f"train {name}: test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stages.train <model name from train.models>")
    run(lambda params: train(params, sys.argv[1]))


if __name__ == "__main__":
    main()
