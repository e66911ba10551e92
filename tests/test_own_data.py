"""The README's "Your own model and data", followed literally: a synthetic npz in inputs/, params.yaml
naming it and examples/small_cnn.py, then `dvc repro` (tiny sizes); the report names the user's classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from examples.small_cnn import small_cnn
from tests.pipeline import make_repo, sh, tiny_params

CLASSES = ("circle", "square", "cross")
SHAPE = (12, 12, 3)


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colour images whose class sets one channel brighter: learnable in one epoch, uint8 (n, 12, 12, 3)."""
    labels = np.arange(n) % len(CLASSES)
    images = rng.integers(0, 100, (n, *SHAPE))
    images[np.arange(n), :, :, labels] += 150
    return images.astype(np.uint8), labels


@pytest.mark.e2e
def test_the_readme_steps_run_on_a_users_npz_and_builder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    params = tiny_params()
    # Step 2: params.yaml names the file and the builder (the tiny sizes keep the test short).
    params["prepare"].update(source="npz", file="inputs/mine.npz", train_limit=0, test_limit=0)
    params["corrupt"].update(
        corruptions=["shot_noise", "rotate", "fog"], severities=[3, 5]
    )  # shorter than tiny
    params["train"]["builder"] = {"file": "examples/small_cnn.py", "function": "small_cnn"}
    # ... and a model trained elsewhere, used as trained beside the plain CNNs.
    params["train"]["models"]["elsewhere"] = {
        "file": "inputs/elsewhere.keras",
        "dropout_rate": 0.0,
        "seed": 0,
    }
    params["predictors"]["plain"]["models"].append("elsewhere")
    repo = make_repo(tmp_path / "repo", params)
    small_cnn(SHAPE, len(CLASSES), 0.0).save(repo / "inputs" / "elsewhere.keras")
    assert yaml.safe_load((repo / "params.yaml").read_text())["prepare"]["file"] == "inputs/mine.npz"
    # Step 1: the arrays, the class names and one OOD set of the same shape.
    x_train, y_train = synthetic(300, rng)
    x_test, y_test = synthetic(256, rng)
    np.savez(
        repo / "inputs" / "mine.npz",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=np.array(CLASSES), ood_static=rng.integers(0, 256, (80, *SHAPE)).astype(np.uint8),
    )  # fmt: skip
    # Step 3: the one command.
    sh(["dvc", "repro"], repo)

    info = json.loads((repo / "data" / "dataset.json").read_text())
    assert (
        info["class_names"] == list(CLASSES)
        and info["image_shape"] == list(SHAPE)
        and list(info["ood"]) == ["static"]
    )
    ood = json.loads((repo / "reports" / "metrics" / "ood.json").read_text())
    assert set(ood) == {"static", "uniform_noise", "gaussian_noise"}
    summary = json.loads((repo / "reports" / "metrics" / "summary.json").read_text())
    assert "detecting_static" in json.dumps(summary)
    page = (repo / "reports" / "index.html").read_text()
    assert all(name in page for name in CLASSES), "the report names the user's classes"
    assert "The CNNs on mine" in page and "not the article's Fashion-MNIST" in page
    trained = json.loads((repo / "reports" / "machine" / "train_elsewhere.json").read_text())
    assert trained["epochs"] == 0  # imported, not trained
    assert "elsewhere" in json.loads((repo / "reports" / "tables" / "per_seed.json").read_text())["plain"]
