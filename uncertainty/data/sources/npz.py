"""A user's own images: one .npz file (params.yaml prepare.file) with

* x_train, x_test: images (N, H, W) or (N, H, W, C), uint8 0..255 or float in [0, 1];
* y_train, y_test: integer labels (N,) in 0..K-1;
* class_names (optional): K strings, else "class 0" .. "class K-1";
* ood_<name> (optional, any number): images of the same (H, W, C) the classifier should not trust.

Read without pickle; every array is checked by uncertainty.data.sources.check.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.data.contract import SPLITS, Dataset, OodSet, class_names_for


def load(p: Any) -> Dataset:
    path = Path(p.file)
    if not p.file:
        raise PipelineError(
            "params.yaml: prepare.file: should name your .npz file (prepare.source is npz), got ''"
        )
    if not path.is_file():
        raise PipelineError(
            f"{path}: no such file (params.yaml prepare.file); expected an .npz with {', '.join(SPLITS)}"
        )
    if not zipfile.is_zipfile(path):  # else numpy takes it for a pickle and says so
        raise PipelineError(
            f"{path}: not an .npz archive (an .npz is a zip of arrays); save it with numpy.savez"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise PipelineError(
            f"{path}: not a readable .npz ({one_line(error)}); save it with numpy.savez"
        ) from None
    missing = [key for key in SPLITS if key not in arrays]
    if missing:
        raise PipelineError(f"{path}: no array {missing[0]!r}; expected {', '.join(SPLITS)}")
    labels = np.concatenate([np.ravel(arrays["y_train"]), np.ravel(arrays["y_test"])])
    if not np.issubdtype(labels.dtype, np.number) or not np.all(np.isfinite(labels)):
        raise PipelineError(f"{path}: y_train and y_test should hold integer class labels 0..K-1")
    names = class_names_for(labels, arrays.get("class_names"), str(path))
    ood = {
        key.removeprefix("ood_"): OodSet(
            images, key.removeprefix("ood_"), f"{key.removeprefix('ood_')} images"
        )
        for key, images in sorted(arrays.items())
        if key.startswith("ood_")
    }
    return Dataset(path.stem, {key: arrays[key] for key in SPLITS}, names, ood)
