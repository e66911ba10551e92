"""params.yaml `ood`: the out-of-distribution sets."""

from __future__ import annotations

from pydantic import Field

from uncertainty.core.schema.base import Positive, PositiveInt, Real, Section, Seed


class Ood(Section):
    seed: Seed
    uniform_noise: PositiveInt
    gaussian_noise: PositiveInt
    gaussian_mean: Real = Field(ge=0, le=1)
    gaussian_std: Positive
