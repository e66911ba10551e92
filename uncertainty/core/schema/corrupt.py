"""params.yaml `corrupt`: dataset shift, the test set corrupted (MNIST-C's fifteen corruptions at five severities)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from uncertainty.core.schema.base import Increasing, Name, PositiveInt, Real, Section, Seed


class Corrupt(Section):
    seed: Seed
    test_limit: PositiveInt
    corruptions: Annotated[list[Name], Field(min_length=1)]
    severities: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Field(min_length=1), Increasing]
    verdict_severities: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Increasing]
    conformal_score: Literal["thr", "aps", "raps"]
    conformal_alpha: Annotated[Real, Field(gt=0, lt=1)]
