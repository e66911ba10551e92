"""params.yaml `linear_data`: article 1.1, the linear data."""

from __future__ import annotations

from pydantic import Field

from uncertainty.core.schema.base import Real, Section, Seed


class LinearData(Section):
    seed: Seed
    n_points: int = Field(ge=2)
    slope: Real
    intercept: Real
    noise_mean: Real
    noise_std: Real = Field(ge=0)
