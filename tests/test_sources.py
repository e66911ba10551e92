"""Data and model plug-ins: the sources' layouts and splits, the builder contract, and one line per bad input."""

from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.test_data import assert_one_line_naming
from uncertainty.core.errors import PipelineError
from uncertainty.data.contract import Dataset, OodSet, check, source
from uncertainty.data.sources import mnist, npz

RNG = np.random.default_rng(0)


def arrays(shape: tuple[int, ...] = (8, 8), classes: int = 3, n: int = 30) -> dict[str, np.ndarray]:
    labels = np.arange(n) % classes
    return {
        "x_train": RNG.integers(0, 256, (n, *shape), dtype=np.uint8),
        "y_train": labels,
        "x_test": RNG.integers(0, 256, (n // 2, *shape), dtype=np.uint8),
        "y_test": labels[: n // 2],
    }


def prepare(file: Path) -> types.SimpleNamespace:
    return types.SimpleNamespace(file=str(file), source_dir="", split_seed=84, test_fraction=0.2)


def saved(tmp_path: Path, **changes: np.ndarray | None) -> Path:
    content = {**arrays(), "class_names": np.array(["circle", "square", "cross"]), **changes}
    path = tmp_path / "mine.npz"
    np.savez(path, **{key: value for key, value in content.items() if value is not None})
    return path


def load_checked(path: Path) -> Dataset:
    return check(npz.load(prepare(path)), str(path))


def test_a_good_file_keeps_its_arrays_names_and_ood_sets(tmp_path: Path) -> None:
    ood = RNG.random((5, 8, 8)).astype(np.float32)
    path = saved(tmp_path, ood_blobs=ood)
    data = load_checked(path)
    assert data.class_names == ("circle", "square", "cross") and list(data.ood) == ["blobs"]
    np.testing.assert_array_equal(data.ood["blobs"].images, ood)
    np.testing.assert_array_equal(data.arrays["x_train"], np.load(path)["x_train"])


def test_without_class_names_the_classes_are_numbered(tmp_path: Path) -> None:
    data = load_checked(saved(tmp_path, class_names=None))
    assert data.class_names == ("class 0", "class 1", "class 2")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"y_test": None}, "no array 'y_test'; expected x_train, y_train, x_test, y_test"),
        ({"x_test": RNG.integers(0, 256, (15, 9, 8), dtype=np.uint8)}, "x_test images are 9x8x1, x_train's 8x8x1"),
        ({"y_train": np.arange(30) % 3 + 1}, "y_train has labels 1..3; expected 0..2 (3 classes)"),
        ({"y_train": np.arange(30) % 2}, "y_train has no image of class 2 ('cross'); every class needs training images"),
        ({"x_train": np.full((30, 8, 8), np.nan)}, "x_train: NaN or infinite pixels"),
        ({"x_train": np.full((30, 8, 8), 2.0)}, "x_train: float pixels must be in [0, 1], got 2..2"),
        ({"x_train": np.full((30, 8, 8), 300)}, "x_train: integer pixels must be in 0..255, got 300..300"),
        ({"class_names": np.array(["only"]), "y_train": np.zeros(30, int), "y_test": np.zeros(15, int)}, "1 class; expected at least 2"),
        ({"ood_blobs": np.zeros((4, 8, 8, 3), np.uint8)}, "ood_blobs images are 8x8x3; expected 8x8x1 like x_train"),
    ],
)  # fmt: skip
def test_each_bad_array_is_one_line_naming_file_and_array(
    tmp_path: Path, changes: dict[str, np.ndarray | None], expected: str
) -> None:
    path = saved(tmp_path, **changes)
    with pytest.raises(PipelineError) as error:
        load_checked(path)
    assert_one_line_naming(error, str(path))
    assert expected in str(error.value)


def test_a_missing_or_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as error:
        npz.load(prepare(tmp_path / "absent.npz"))
    assert_one_line_naming(error, "absent.npz")
    assert "no such file (params.yaml prepare.file)" in str(error.value)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(PipelineError) as error:
        npz.load(prepare(broken))
    assert_one_line_naming(error, "broken.npz")
    assert "not an .npz archive" in str(error.value)


def test_an_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(
        PipelineError,
        match="prepare.source: should be one of fashion_mnist, mnist, npz, folders, got 'cifar'",
    ):
        source("cifar")


def test_colour_and_float_images_pass_as_they_are() -> None:
    data = arrays((8, 6, 3))
    data["x_train"] = RNG.random((30, 8, 6, 3)).astype(np.float64)
    checked = check(Dataset("colour", data, ("a", "b", "c"), {"n": OodSet(data["x_test"], "N", "n")}), "here")
    assert checked.arrays["x_train"].dtype == np.float32 and checked.arrays["x_test"].dtype == np.uint8


def test_the_mnist_split_is_stratified_seeded_and_disjoint() -> None:
    labels = np.repeat(np.arange(10), 500)
    train, test = mnist.split(labels, 0.2, 84)
    assert len(test) == 1000 and not set(train) & set(test) and len(set(train) | set(test)) == 5000
    assert (np.bincount(labels[test]) == 100).all()  # each class split in the same proportion
    np.testing.assert_array_equal(test, mnist.split(labels, 0.2, 84)[1])
    assert not np.array_equal(test, mnist.split(labels, 0.2, 85)[1])


# --------------------------------------------------------------------------- the builder contract


def write_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    """A builder file in a package of the (temporary) repository, imported as its module."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("mine", "mine.arch"):  # each case its own module
        monkeypatch.delitem(sys.modules, name, raising=False)
    package = tmp_path / "mine"
    package.mkdir(exist_ok=True)
    (package / "arch.py").write_text("import keras\n\n" + body)
    return "mine/arch.py"


@pytest.mark.parametrize(
    ("body", "function", "expected"),
    [
        ("", "build", "train.builder.function: mine/arch.py has no 'build'"),
        ("build = 3\n", "build", "train.builder.function: mine/arch.py:build is not callable"),
        ("raise ImportError('no such thing')\n", "build", "train.builder.file: mine/arch.py does not import (ImportError: no such thing)"),
        (
            "def build(shape, k, rate):\n    return keras.Sequential([keras.Input(shape), keras.layers.Flatten()])\n",
            "build", "mine/arch.py:build: outputs (64,) per image; expected (3,), one per class",
        ),
        (
            "def build(shape, k, rate):\n    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(),"
            " keras.layers.Dense(k + 1, activation='softmax')])\n",
            "build", "mine/arch.py:build: outputs (4,) per image; expected (3,), one per class",
        ),
    ],
)  # fmt: skip
def test_each_bad_builder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, function: str, expected: str
) -> None:
    from uncertainty.models.cnn import architecture

    file = write_builder(tmp_path, monkeypatch, body)
    with pytest.raises(PipelineError) as error:
        architecture(file, function, (8, 8, 1), 3)(0.0)
    assert_one_line_naming(error, "mine/arch.py")
    assert expected in str(error.value)


def test_a_builder_file_outside_the_repository_or_missing_is_named(tmp_path: Path) -> None:
    from uncertainty.models.cnn import load_builder

    with pytest.raises(PipelineError, match="train.builder.file: should be a .py file inside the repository"):
        load_builder("/tmp/elsewhere.py", "build")
    with pytest.raises(PipelineError, match="train.builder.file: examples/absent.py: no such file"):
        load_builder("examples/absent.py", "build")


def test_the_example_builder_keeps_the_contract() -> None:
    from uncertainty.models.cnn import architecture

    build = architecture("examples/small_cnn.py", "small_cnn", (12, 10, 3), 4)
    assert build(0.0).output_shape == (None, 4)
    assert any(layer.__class__.__name__ == "Dropout" for layer in build(0.2).layers)


def test_the_article_builder_is_the_article_cnn() -> None:
    from uncertainty.models.cnn import architecture, build_cnn

    model = architecture("uncertainty/models/cnn.py", "build_cnn", (28, 28, 1), 10)(0.1)
    assert model.count_params() == build_cnn(dropout_rate=0.1).count_params() == 114_954


# --------------------------------------------------------------------------- a model trained elsewhere


def saved_keras(tmp_path: Path, dropout_rate: float = 0.0, classes: int = 3) -> Path:
    from examples.small_cnn import small_cnn

    path = tmp_path / "elsewhere.keras"
    small_cnn((8, 8, 1), classes, dropout_rate).save(path)
    return path


def test_an_imported_model_is_stored_and_reloaded_as_trained(tmp_path: Path) -> None:
    from uncertainty.models.cnn import import_keras, load_cnn, predict_probs, save_cnn

    path = saved_keras(tmp_path, dropout_rate=0.2)
    model = import_keras(str(path), (8, 8, 1), 3, 0.2)
    images = RNG.random((5, 8, 8, 1)).astype(np.float32)
    save_cnn(tmp_path / "m.npz", model, {"name": "m", "dropout_rate": 0.2, "keras_config": model.to_json()})
    again, spec = load_cnn(tmp_path / "m.npz", lambda rate: pytest.fail("an imported model is not rebuilt"))
    np.testing.assert_array_equal(predict_probs(again, images), predict_probs(model, images))
    assert spec["dropout_rate"] == 0.2 and any(
        layer.__class__.__name__ == "Dropout" for layer in again.layers
    )


@pytest.mark.parametrize(
    ("content", "rate", "classes", "expected"),
    [
        ("garbage", 0.0, 3, "not a .keras archive (a .keras file is a zip)"),
        ("zip", 0.0, 3, "does not load as a Keras model"),
        (None, 0.0, 4, "elsewhere.keras: outputs (3,) per image; expected (4,), one per class"),
        (None, 0.3, 3, "has 0 Dropout layers, but its train.models entry's dropout_rate is 0.3"),
    ],
)
def test_each_bad_keras_file_is_one_line(
    tmp_path: Path, content: str | None, rate: float, classes: int, expected: str
) -> None:
    from uncertainty.models.cnn import import_keras

    path = saved_keras(tmp_path)
    if content == "zip":  # a zip archive, but not a Keras model's
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "not a model")
    elif content is not None:
        path.write_text(content)
    with pytest.raises(PipelineError) as error:
        import_keras(str(path), (8, 8, 1), classes, rate)
    assert_one_line_naming(error, "elsewhere.keras")
    assert expected in str(error.value)
