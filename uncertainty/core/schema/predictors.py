"""params.yaml `predictors`: the one registry of predictors, in this order."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from uncertainty.core.schema.base import Name, Section


class Predictor(Section):
    label: str = Field(min_length=1)
    kind: str  # a key of uncertainty.methods.predictors.KINDS (check_params checks it)
    models: list[Name] | None = None
    of: Name | None = None
    options: dict[str, Any] = Field(default_factory=dict)


Predictors = Annotated[dict[Name, Predictor], Field(min_length=1)]
