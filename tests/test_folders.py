"""The `folders` source: images kept one folder per class (Keras' image_dataset_from_directory layout),
read with Pillow, checked like any source's, one line naming the folder or file per bad input."""

from __future__ import annotations

import argparse
import copy
import json
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.pipeline import set_key
from uncertainty.config import validate
from uncertainty.core.errors import PipelineError
from uncertainty.core.schema.prepare import Prepare
from uncertainty.data.contract import Dataset, check, source
from uncertainty.data.sources import folders

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("cat", "dog", "fish")  # written in another order below: the names come out sorted
RNG = np.random.default_rng(0)


def assert_one_line_naming(error: pytest.ExceptionInfo[PipelineError], name: str) -> None:
    """As tests/test_data.py's, without importing that module (it loads TensorFlow)."""
    assert name in str(error.value) and "\n" not in str(error.value)


def save(path: Path, pixels: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def tree(root: Path, size: tuple[int, int] = (6, 5), per_class: int = 3) -> dict[str, list[np.ndarray]]:
    """train/ and test/ with a folder per class of colour PNGs (H, W) = size, and one OOD set; the pixels
    each file holds, by split and class in the order the source reads them."""
    written: dict[str, list[np.ndarray]] = {}
    for split, count in (("train", per_class), ("test", per_class - 1)):
        for name in ("fish", "cat", "dog"):
            for i in range(count):
                pixels = RNG.integers(0, 256, (*size, 3), dtype=np.uint8)
                written.setdefault(f"{split}/{name}", []).append(
                    save(root / split / name / f"{i}.png", pixels)
                )
    for i in range(2):
        save(root / "ood" / "blobs" / f"{i}.png", RNG.integers(0, 256, (*size, 3), dtype=np.uint8))
    (root / "train" / "cat" / "notes.txt").write_text("not an image: ignored, as Keras ignores it")
    return written


def prepare(
    root: Path | str, image_size: list[int] | None = None, color_mode: str = "rgb"
) -> types.SimpleNamespace:
    return types.SimpleNamespace(dir=str(root), image_size=image_size or [], color_mode=color_mode)


def load_checked(root: Path, **options: object) -> Dataset:
    return check(folders.load(prepare(root, **options)), str(root))  # type: ignore[arg-type]


def test_a_tree_gives_sorted_classes_interleaved_labels_and_its_pixels(tmp_path: Path) -> None:
    written = tree(tmp_path / "mine")
    data = load_checked(tmp_path / "mine")
    assert source("folders") is folders
    assert data.name == "mine" and data.class_names == CLASSES and list(data.ood) == ["blobs"]
    assert data.arrays["x_train"].shape == (9, 6, 5, 3) and data.arrays["x_train"].dtype == np.uint8
    assert data.arrays["x_test"].shape == (6, 6, 5, 3) and data.ood["blobs"].images.shape == (2, 6, 5, 3)
    assert data.ood["blobs"].label == "blobs" and data.ood["blobs"].words == "blobs images"
    # Each class's first file, then each one's second: any prefix holds every class.
    np.testing.assert_array_equal(data.arrays["y_train"], [0, 1, 2] * 3)
    np.testing.assert_array_equal(data.arrays["y_test"], [0, 1, 2] * 2)
    for split, count in (("train", 3), ("test", 2)):
        for label, name in enumerate(CLASSES):
            np.testing.assert_array_equal(
                data.arrays[f"x_{split}"][label :: len(CLASSES)], np.stack(written[f"{split}/{name}"][:count])
            )


def test_grayscale_rgba_and_resizing(tmp_path: Path) -> None:
    written = tree(tmp_path / "mine")
    gray = load_checked(tmp_path / "mine", color_mode="grayscale")
    assert gray.arrays["x_train"].shape == (9, 6, 5) and gray.ood["blobs"].images.shape == (2, 6, 5)
    first = Image.fromarray(written["train/cat"][0])
    np.testing.assert_array_equal(gray.arrays["x_train"][0], np.asarray(first.convert("L")))
    rgba = load_checked(tmp_path / "mine", color_mode="rgba")
    assert rgba.arrays["x_test"].shape == (6, 6, 5, 4) and (rgba.arrays["x_test"][..., 3] == 255).all()
    resized = load_checked(tmp_path / "mine", image_size=[4, 7], color_mode="grayscale")
    assert resized.arrays["x_train"].shape == (9, 4, 7) and resized.ood["blobs"].images.shape == (2, 4, 7)
    expected = first.convert("L").resize((7, 4), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(resized.arrays["x_train"][0], np.asarray(expected))


def test_image_size_makes_files_of_mixed_sizes_one_shape(tmp_path: Path) -> None:
    tree(tmp_path / "mine")
    save(tmp_path / "mine" / "test" / "dog" / "big.jpg", np.zeros((12, 10, 3), np.uint8))
    data = load_checked(tmp_path / "mine", image_size=[6, 5])
    assert data.arrays["x_test"].shape == (7, 6, 5, 3)


def break_tree(root: Path, case: str) -> None:
    """A good tree (none for "missing dir") with one problem."""
    if case == "missing dir":
        return
    tree(root)
    if case == "no test folder":
        for path in sorted((root / "test").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (root / "test").rmdir()
    elif case == "empty class":  # files of other kinds only
        for path in (root / "train" / "dog").glob("*.png"):
            path.unlink()
        (root / "train" / "dog" / "readme.md").write_text("not an image")
    elif case == "corrupt file":
        (root / "test" / "fish" / "1.png").write_bytes(b"\x89PNG not really")
    elif case == "truncated file":
        whole = (root / "train" / "dog" / "2.png").read_bytes()
        (root / "train" / "dog" / "2.png").write_bytes(whole[: len(whole) // 2])
    elif case == "mixed sizes":
        save(root / "train" / "fish" / "3.png", np.zeros((7, 5, 3), np.uint8))
    elif case == "mismatched test classes":
        (root / "test" / "dog").rename(root / "test" / "dogs")
    elif case == "one class":
        for folder in [root / split / name for split in ("train", "test") for name in ("dog", "fish")]:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


# (the problem, the folder or file the line names under the tree's root, text the line must hold)
# fmt: off
BAD = [
    ("missing dir", "", "no such folder (params.yaml prepare.dir); expected train/<class>/ and test/<class>/ image folders"),
    ("no test folder", "test", "test: no such folder (params.yaml prepare.dir)"),
    ("empty class", "train/dog", "train/dog: no image files (.png, .jpg, .jpeg, .bmp, .gif); every class needs images"),
    ("corrupt file", "test/fish/1.png", "1.png: not a readable image (cannot identify image file); replace or remove the file"),
    ("truncated file", "train/dog/2.png", "2.png: not a readable image ("),
    ("mixed sizes", "train/fish/3.png", "3.png: 7x5 pixels (HxW), the first image ({root}/train/cat/0.png) 6x5; set prepare.image_size: [H, W]"),
    ("mismatched test classes", "test", "test: no folder 'dog'; 'dogs' not a class of train/; expected the class folders of train/ (cat, dog, fish)"),
    ("one class", "train", "train: 1 class folder ('cat'); expected at least 2, one folder per class"),
]
# fmt: on


@pytest.mark.parametrize(("case", "named", "expected"), BAD)
def test_each_bad_tree_is_one_line_naming_the_folder_or_file(
    tmp_path: Path, case: str, named: str, expected: str
) -> None:
    root = tmp_path / "mine"
    break_tree(root, case)
    with pytest.raises(PipelineError) as error:
        load_checked(root)
    assert_one_line_naming(error, str(root / named))
    assert expected.format(root=root) in str(error.value), str(error.value)


def test_an_empty_prepare_dir_names_the_key() -> None:
    with pytest.raises(PipelineError, match=r"^params.yaml: prepare.dir: should name your images' folder"):
        folders.load(prepare(""))


def params_with(**prepare_keys: object) -> dict[str, object]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in {"source": "folders", **prepare_keys}.items():
        set_key(params, f"prepare.{key}", copy.deepcopy(value))
    return params


def test_check_params_looks_for_the_folder_and_checks_the_keys(tmp_path: Path) -> None:
    def line(**keys: object) -> str:
        with pytest.raises(PipelineError) as error:
            validate(params_with(**keys))
        return str(error.value)

    assert line(dir="") == (
        "params.yaml: prepare.dir: should name your images' folder (prepare.source is folders), got ''"
    )
    assert line(dir=str(tmp_path / "absent")).startswith(
        "params.yaml: prepare.dir: should be an existing folder"
    )
    assert "prepare.image_size: List should be [] (the files' own size) or [H, W], got [28]" in line(
        dir=str(tmp_path), image_size=[28]
    )
    assert "prepare.image_size[1]: Input should be greater than or equal to 1" in line(
        dir=str(tmp_path), image_size=[28, 0]
    )
    assert "prepare.color_mode: Input should be 'grayscale', 'rgb' or 'rgba'" in line(
        dir=str(tmp_path), color_mode="RGB"
    )
    assert validate(params_with(dir=str(tmp_path), image_size=[28, 28])).prepare.image_size == [28, 28]


def test_the_prepare_stage_writes_a_folders_tree(tmp_path: Path) -> None:
    from stages import prepare_data as stage

    tree(tmp_path / "mine")
    section = params_with(dir=str(tmp_path / "mine"), color_mode="grayscale", train_limit=6)["prepare"]
    params = types.SimpleNamespace(prepare=Prepare.model_validate(section))
    paths = argparse.Namespace(
        data=tmp_path / "dataset.npz", ood=tmp_path / "ood.npz", info=tmp_path / "dataset.json"
    )
    stage.main(params, paths)
    info = json.loads(paths.info.read_text())
    assert info["class_names"] == list(CLASSES) and info["source"] == "folders" and info["name"] == "mine"
    assert info["image_shape"] == [6, 5, 1] and list(info["ood"]) == ["blobs"]
    with np.load(paths.data) as saved:
        assert saved["x_train"].shape == (6, 6, 5) and list(saved["y_train"]) == [0, 1, 2, 0, 1, 2]
    with np.load(paths.ood) as saved:
        assert saved.files == ["ood_blobs"]
