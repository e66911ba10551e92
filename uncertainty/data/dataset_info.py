"""data/dataset.json: what every stage after prepare knows of the data, without reading its images:
its name, class names, image shape and real OOD sets (uncertainty.data.contract writes it from a source)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uncertainty.core.errors import PipelineError
from uncertainty.core.io import write_json


@dataclass(frozen=True)
class DatasetInfo:
    """data/dataset.json: what every stage after prepare knows of the data, without reading its images."""

    name: str
    source: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (H, W, C) of the model input
    ood: Mapping[str, Mapping[str, str]]  # real OOD set -> {"label", "words"}, report order

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def write_info(
    path: str | Path,
    name: str,
    source: str,
    class_names: Sequence[str],
    image_shape: Sequence[int],
    ood: Mapping[str, Mapping[str, str]],
) -> None:
    write_json(
        path,
        {
            "name": name,
            "source": source,
            "class_names": list(class_names),
            "image_shape": list(image_shape),
            "ood": {k: dict(v) for k, v in ood.items()},
        },
    )


def read_info(path: str | Path) -> DatasetInfo:
    """The description (a stage that words or iterates the OOD sets passes `ood` to
    uncertainty.core.vocabulary.use_data_sets; training reads only the shape and classes)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        info = DatasetInfo(
            raw["name"], raw["source"], tuple(raw["class_names"]), tuple(raw["image_shape"]), raw["ood"]
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"{path}: not the prepare stage's description ({error}); run dvc repro") from None
    return info
