"""params.yaml `verdicts`: comparisons with intervals over seeds and test images."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from uncertainty.core.schema.base import Name, Real, Section, Seed


class Verdicts(Section):
    seed: Seed
    bootstrap: int = Field(ge=100)
    confidence: Real = Field(ge=0.5, lt=1)
    ensemble_subsets: int = Field(ge=2)
    ensemble_bootstrap: int = Field(ge=100)
    comparisons: list[Annotated[list[Name], Field(min_length=2, max_length=2)]] = Field(min_length=1)
