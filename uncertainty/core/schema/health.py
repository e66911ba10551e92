"""params.yaml `health`: a model that has not learned is named, not judged (uncertainty.evaluation.health says why
the defaults are what they are)."""

from __future__ import annotations

from pydantic import Field

from uncertainty.core.schema.base import PositiveInt, Real, Section


class Health(Section):
    chance_margin: Real = Field(ge=0, lt=1)
    max_gap: Real = Field(gt=0, lt=1)
    train_images: PositiveInt
