"""params.yaml `regression`: article 1.2, seeded regressors and their extrapolation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from uncertainty.core.schema.base import Increasing, Positive, PositiveInt, Real, Section, Seed

Initializer = Literal[
    "ones", "normal", "uniform", "random_normal", "random_uniform", "truncated_normal",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
]  # fmt: skip


class Regression(Section):
    units: PositiveInt
    epochs: PositiveInt
    learning_rate: Positive
    predict_at: Real
    extrapolate_range: Annotated[list[Real], Field(min_length=2, max_length=2), Increasing]
    spread_at: Annotated[list[Real], Field(min_length=1), Increasing]
    seeds: dict[Initializer, Seed] = Field(min_length=1)
