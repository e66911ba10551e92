"""params.yaml `prepare`: which data (uncertainty.data.sources), into one array file (article 1.3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from uncertainty.core.schema.base import CountOrAll, PositiveInt, Real, Section, Seed


def _none_or_height_width(values: list[int]) -> list[int]:
    if len(values) not in (0, 2):
        raise PydanticCustomError("image_size", "List should be [] (the files' own size) or [H, W]")
    return values


ImageSize = Annotated[list[PositiveInt], AfterValidator(_none_or_height_width)]


class Prepare(Section):
    # uncertainty.data.sources.SOURCES, or saved outputs (uncertainty.data.predictions)
    source: Literal["fashion_mnist", "mnist", "npz", "folders", "predictions"]
    source_dir: str
    file: str
    dir: str
    image_size: ImageSize
    color_mode: Literal["grayscale", "rgb", "rgba"]
    split_seed: Seed
    test_fraction: Real = Field(gt=0, lt=1)
    train_limit: CountOrAll
    test_limit: CountOrAll
    ood_limit: CountOrAll
