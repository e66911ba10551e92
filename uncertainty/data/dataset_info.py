"""data/dataset.json: what every stage after prepare knows of the data, without reading its images:
its name, class names, image shape and real OOD sets (uncertainty.data.contract writes it from a source)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    noise: bool = True  # the noise sets are made for its image shape (not for saved predictions: no images)
    saved: Mapping[str, Any] | None = None  # saved predictions: what the file holds and what cannot run

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_sets(self) -> tuple[dict[str, dict[str, str]], bool]:
        """Its own OOD sets and whether the noise sets follow: uncertainty.core.vocabulary.use_data_sets' arguments."""
        return {k: dict(v) for k, v in self.ood.items()}, self.noise


def write_info(
    path: str | Path,
    name: str,
    source: str,
    class_names: Sequence[str],
    image_shape: Sequence[int],
    ood: Mapping[str, Mapping[str, str]],
    saved: Mapping[str, Any] | None = None,
) -> None:
    """Saved predictions (`saved`: what the file holds) have no images: no shape, no noise sets."""
    write_json(
        path,
        {
            "name": name,
            "source": source,
            "class_names": list(class_names),
            "image_shape": list(image_shape),
            "ood": {k: dict(v) for k, v in ood.items()},
            **({"noise": False, "saved": dict(saved)} if saved is not None else {}),
        },
    )


def read_info(path: str | Path) -> DatasetInfo:
    """The description (a stage that words or iterates the OOD sets passes `ood` to
    uncertainty.core.vocabulary.use_data_sets; training reads only the shape and classes)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        info = DatasetInfo(
            raw["name"], raw["source"], tuple(raw["class_names"]), tuple(raw["image_shape"]), raw["ood"],
            raw.get("noise", True), raw.get("saved"),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"{path}: not the prepare stage's description ({error}); run dvc repro") from None
    return info
