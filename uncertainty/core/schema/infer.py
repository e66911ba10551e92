"""params.yaml `infer`: every trained CNN once through every input set."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from uncertainty.core.schema.base import Increasing, Name, PositiveInt, Section, Seed


class Infer(Section):
    seed: Seed
    mc_passes: PositiveInt
    curve_passes: Annotated[list[PositiveInt], Field(min_length=1), Increasing]
    shift_mc_models: list[Name]
    # Dropout CNNs also run once with dropout off (softmax, logits, features on every set and the
    # training images), for predictors of the plain kinds on the same model: one model, every method.
    also_without_dropout: list[Name] = Field(default_factory=list)
