"""params.yaml `noise`: article 1.7, one uniform noise image through both models."""

from __future__ import annotations

from pydantic import Field

from uncertainty.core.schema.base import PositiveInt, Section, Seed


class Noise(Section):
    seed: Seed
    repeats: int = Field(ge=2)
    single_passes: int = Field(ge=2)
    mean_passes: PositiveInt
