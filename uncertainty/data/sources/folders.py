"""A user's own images, one folder per class (the layout of keras.utils.image_dataset_from_directory):
params.yaml prepare.dir holding

* train/<class>/ and test/<class>/: image files (.png, .jpg, .jpeg, .bmp, .gif; others are ignored, as
  Keras ignores them), the same class folders in both; the class names are train/'s folder names
  sorted (as Keras sorts them), each label its name's index;
* ood/<name>/ (optional, any number): images the classifier should not trust, each folder one set.

Read with Pillow, the files of each folder in sorted order, converted to prepare.color_mode (grayscale
gives (N, H, W)) and, with prepare.image_size [H, W], resized bilinearly; with image_size [] every image
must share one size. The classes are interleaved (each class's first file, then each one's second, ...),
so any prefix (prepare.train_limit) holds every class. Every array is checked by uncertainty.data.contract.check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.data.contract import Dataset, OodSet

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # Keras' image_dataset_from_directory's
MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}  # prepare.color_mode -> Pillow's mode
_LAYOUT = "expected train/<class>/ and test/<class>/ image folders (README)"


def _subfolders(path: Path) -> list[Path]:
    return sorted(entry for entry in path.iterdir() if entry.is_dir())


def _image_files(folder: Path, needs: str) -> list[Path]:
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)
    if not files:
        raise PipelineError(f"{folder}: no image files ({', '.join(EXTENSIONS)}); {needs}")
    return files


class _Reader:
    """Images as uint8 arrays of one mode and one size: image_size's, else the first image's."""

    def __init__(self, color_mode: str, image_size: list[int]) -> None:
        self.mode = MODES[color_mode]
        self.size: tuple[int, int] | None = (image_size[0], image_size[1]) if image_size else None  # (H, W)
        self.fixed = self.size is not None
        self.first: Path | None = None

    def read(self, path: Path) -> np.ndarray:
        try:
            with Image.open(path) as opened:
                image = opened.convert(self.mode)  # the first frame of an animated GIF, as Keras
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
            raise PipelineError(
                f"{path}: not a readable image ({one_line(error).replace(f' {str(path)!r}', '')}); "
                "replace or remove the file"
            ) from None
        size = (image.height, image.width)
        if self.size is None:
            self.size, self.first = size, path
        elif size != self.size and self.fixed:
            image = image.resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR)
        elif size != self.size:
            raise PipelineError(
                f"{path}: {size[0]}x{size[1]} pixels (HxW), the first image ({self.first}) "
                f"{self.size[0]}x{self.size[1]}; set prepare.image_size: [H, W] to resize every image to one size"
            )
        return np.asarray(image, dtype=np.uint8)

    def stack(self, files: list[Path]) -> np.ndarray:
        return np.stack([self.read(path) for path in files])


def _interleaved(per_class: list[list[Path]]) -> tuple[list[Path], np.ndarray]:
    """Each class's first file, then each one's second, ...: the files and their labels."""
    order = sorted((i, label) for label, files in enumerate(per_class) for i in range(len(files)))
    return [per_class[label][i] for i, label in order], np.array([label for _, label in order], np.int64)


def load(p: Any) -> Dataset:
    if not p.dir:
        raise PipelineError(
            "params.yaml: prepare.dir: should name your images' folder (prepare.source is folders), got ''"
        )
    root = Path(p.dir)
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise PipelineError(f"{root}: {what} (params.yaml prepare.dir); {_LAYOUT}")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise PipelineError(f"{root / split}: no such folder (params.yaml prepare.dir); {_LAYOUT}")
    classes = _subfolders(root / "train")
    names = tuple(folder.name for folder in classes)
    if len(names) < 2:
        found = f" ({names[0]!r})" if names else ""
        raise PipelineError(
            f"{root / 'train'}: {len(names)} class folder{found}; expected at least 2, one folder per class"
        )
    tested = tuple(folder.name for folder in _subfolders(root / "test"))
    if tested != names:
        missing = ", ".join(repr(name) for name in names if name not in tested)
        extra = ", ".join(repr(name) for name in tested if name not in names)
        difference = "; ".join(
            ([f"no folder {missing}"] if missing else [])
            + ([f"{extra} not a class of train/"] if extra else [])
        )
        raise PipelineError(
            f"{root / 'test'}: {difference}; expected the class folders of train/ ({', '.join(names)})"
        )
    reader = _Reader(p.color_mode, list(p.image_size))
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        per_class = [
            _image_files(root / split / name, "every class needs images in train/ and test/")
            for name in names
        ]
        files, labels = _interleaved(per_class)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = reader.stack(files), labels
    ood = {}
    if (root / "ood").is_dir():
        for folder in _subfolders(root / "ood"):
            images = reader.stack(_image_files(folder, "an OOD set needs images (or remove its folder)"))
            ood[folder.name] = OodSet(images, folder.name, f"{folder.name} images")
    return Dataset(root.resolve().name, arrays, names, ood)
