"""The README's "Your own model and data", followed literally (tiny sizes): a synthetic npz in inputs/ and
either one Functional model trained elsewhere (`make own`, `make run`) or params.yaml naming the npz and
examples/small_cnn.py (`dvc repro`); the report names the user's data, classes and models."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from examples.small_cnn import small_cnn
from tests.pipeline import VENV_BIN, make_repo, sh, tiny_params

CLASSES = ("circle", "square", "cross")
SHAPE = (12, 12, 3)


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colour images whose class sets one channel brighter: learnable in one epoch, uint8 (n, 12, 12, 3)."""
    labels = np.arange(n) % len(CLASSES)
    images = rng.integers(0, 100, (n, *SHAPE))
    images[np.arange(n), :, :, labels] += 150
    return images.astype(np.uint8), labels


def save_npz(repo: Path, rng: np.random.Generator) -> None:
    """Step 1: the arrays, the class names and one OOD set of the same shape."""
    x_train, y_train = synthetic(300, rng)
    x_test, y_test = synthetic(256, rng)
    np.savez(
        repo / "inputs" / "mine.npz",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=np.array(CLASSES), ood_static=rng.integers(0, 256, (80, *SHAPE)).astype(np.uint8),
    )  # fmt: skip


def functional_logits(rng: np.random.Generator) -> keras.Model:
    """A user's model: Functional, Conv-BatchNorm-ReLU, Dropout, a logits head, trained with plain `fit`."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization(momentum=0.5)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Dense(len(CLASSES))(x))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images, labels = synthetic(300, rng)
    model.fit(images.astype(np.float32) / 255.0, labels, epochs=8, batch_size=16, verbose=0)
    return model


@pytest.mark.e2e
def test_the_readme_one_model_path_judges_a_functional_logits_model(tmp_path: Path) -> None:
    """Step 2, one model trained elsewhere: two files in inputs/, `make own`, `make run`; nothing trained."""
    rng = np.random.default_rng(0)
    repo = make_repo(tmp_path / "repo", tiny_params())
    save_npz(repo, rng)
    functional_logits(rng).save(repo / "inputs" / "mine.keras")
    venv = f"VENV={VENV_BIN.parent}"
    sh(["make", "own", "MODEL=inputs/mine.keras", "DATA=inputs/mine.npz", venv], repo)
    sh(["make", "run", "RUN=runs/mine", venv], repo)

    run = repo / "runs" / "mine"
    params = yaml.safe_load((run / "params.yaml").read_text())
    assert params["train"]["models"] == {} and list(params["train"]["imported"]) == ["mine"]
    assert "ensemble" not in params["predictors"] and "mc_dropout" in params["predictors"]
    assert not (run / "reports" / "machine" / "train_mine.json").read_text().count('"epochs": 1')
    inference = np.load(run / "data" / "inference" / "mine" / "test.npz")
    assert {"probs", "logits", "features", "mean", "mean_entropy"} <= set(inference.files)  # both ways
    np.testing.assert_allclose(inference["probs"].sum(axis=1), 1.0, atol=1e-5)  # the logits head, softmaxed
    per_seed = json.loads((run / "reports" / "tables" / "per_seed.json").read_text())
    assert {"plain", "plain_ts", "mc_dropout", "laplace", "feature_density"} <= set(per_seed)
    assert json.loads((run / "reports" / "metrics" / "noise.json").read_text())["skipped"]
    assert "regressors_disagree_outside_the_data" not in json.loads(
        (run / "reports" / "metrics" / "claims.json").read_text()
    )
    page = (run / "reports" / "index.html").read_text()
    assert "<title>Uncertainty of mine on mine" in page
    assert "every interval covers the test images only" in page
    assert (
        "reproduced" not in page and "1. Three regressors" not in page
    )  # the article's sections are not here
    assert all(name in page for name in CLASSES)


@pytest.mark.e2e
def test_the_readme_steps_run_on_a_users_npz_and_builder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    params = tiny_params()
    # Step 3: params.yaml names the file and the builder (the tiny sizes keep the test short).
    params["prepare"].update(source="npz", file="inputs/mine.npz", train_limit=0, test_limit=0)
    params["corrupt"].update(
        corruptions=["shot_noise", "rotate", "fog"], severities=[3, 5]
    )  # shorter than tiny
    params["train"]["builder"] = {"file": "examples/small_cnn.py", "function": "small_cnn"}
    # ... and a model trained elsewhere, used as trained beside the plain CNNs: here an untrained one,
    # which the report must name as a model that has not learned.
    params["train"]["imported"] = {"elsewhere": {"file": "inputs/elsewhere.keras", "dropout_rate": 0.0}}
    params["predictors"]["plain"]["models"].append("elsewhere")
    repo = make_repo(tmp_path / "repo", params)
    untrained = small_cnn(SHAPE, len(CLASSES), 0.0)  # its head zeroed: one answer for every image, chance
    untrained.layers[-1].set_weights([np.zeros_like(w) for w in untrained.layers[-1].get_weights()])
    untrained.save(repo / "inputs" / "elsewhere.keras")
    assert yaml.safe_load((repo / "params.yaml").read_text())["prepare"]["file"] == "inputs/mine.npz"
    save_npz(repo, rng)
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
    assert "<title>Uncertainty of 7 models on mine" in page and "not the article's Fashion-MNIST" in page
    assert "Models that have not learned" in page and "<strong>elsewhere</strong>" in page  # untrained: named
    trained = json.loads((repo / "reports" / "machine" / "train_elsewhere.json").read_text())
    assert trained["epochs"] == 0  # imported, not trained
    assert "elsewhere" in json.loads((repo / "reports" / "tables" / "per_seed.json").read_text())["plain"]


def with_mc_passes(path: Path, passes: int = 10, rate: float = 0.2) -> None:
    """The example's file with MC passes added, as a framework with dropout before its last layer saves them:
    each pass drops features at `rate` (seeded) and applies the last layer (S, T, N, K)."""
    arrays = dict(np.load(path))
    rng = np.random.default_rng(0)
    kernel, bias = arrays["last_kernel"], arrays["last_bias"]
    for key in [k for k in arrays if k.endswith("_features") and not k.startswith(("train", "rotated"))]:
        features = arrays[key]  # (S, N, D)
        keep = rng.random((passes, *features.shape)) >= rate  # (T, S, N, D)
        dropped = np.where(keep, features / (1 - rate), 0.0)
        logits = np.einsum("tsnd,sdk->stnk", dropped, kernel) + bias[:, None, None, :]
        arrays[key.removesuffix("_features") + "_mc_logits"] = logits.astype(np.float32)
    np.savez(path, **arrays)


@pytest.mark.e2e
def test_the_readme_saved_predictions_path_judges_every_method_the_keys_allow(tmp_path: Path) -> None:
    """Step 5: outputs saved outside Keras (the example's scikit-learn MLPs, six trainings, with MC passes
    added), `runs new --predictions`, `make run`: nothing trained or inferred, every method the keys allow
    judged, and the report names what they leave out (the corrupted images) with the key it needs."""
    repo = make_repo(tmp_path / "repo", tiny_params())
    sh([str(VENV_BIN / "python"), "-m", "examples.saved_predictions", "inputs/theirs.npz"], repo)
    with_mc_passes(repo / "inputs" / "theirs.npz")
    sh(
        [
            str(VENV_BIN / "python"),
            "-m",
            "uncertainty.runs",
            "new",
            "theirs",
            "--predictions",
            "inputs/theirs.npz",
        ],
        repo,
    )
    sh(["make", "run", "RUN=runs/theirs", f"VENV={VENV_BIN.parent}"], repo)

    run = repo / "runs" / "theirs"
    params = yaml.safe_load((run / "params.yaml").read_text())
    assert params["prepare"]["source"] == "predictions" and params["train"]["models"] == {}
    assert len(params["train"]["saved"]) == 6 and all(
        s["mc_samples"] for s in params["train"]["saved"].values()
    )
    per_seed = json.loads((run / "reports" / "tables" / "per_seed.json").read_text())
    assert {
        "plain",
        "ensemble",
        "mc_dropout",
        "plain_ts",
        "laplace",
        "feature_density",
        "knn",
        "vim",
        "rmds",
    } <= set(per_seed)
    assert len(per_seed["plain"]) == 6  # one row per training: intervals over the trainings
    ood = json.loads((run / "reports" / "metrics" / "ood.json").read_text())
    assert set(ood) == {"digits_5_to_9", "uniform_noise"}  # the file's OOD sets, no noise made up
    shift = json.loads((run / "reports" / "tables" / "shift.json").read_text())
    assert shift and json.loads((run / "reports" / "tables" / "corruption.json").read_text()) == {}
    saved = np.load(run / "data" / "inference" / "mlp_84" / "test.npz")
    assert {"probs", "logits", "features", "labels", "mean", "mean_entropy", "curve_mean"} <= set(saved.files)
    page = (run / "reports" / "index.html").read_text()
    assert "Uncertainty of 6 models on theirs" in page
    assert "no model runs here" in page and "dataset shift by corruption (needs corrupted_logits" in page
    assert "MC dropout (needs" not in page and "Models that have not learned" not in page
    assert not (run / "reports" / "machine" / "train_mlp_84.json").exists()  # nothing trained here
