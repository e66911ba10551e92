"""params.yaml `evaluate`: in-distribution quality and selective prediction."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from uncertainty.core.schema.base import Increasing, PositiveInt, Real, Section


class Evaluate(Section):
    ece_bins: PositiveInt
    coverages: Annotated[list[Annotated[Real, Field(gt=0, le=1)]], Field(min_length=1), Increasing]
