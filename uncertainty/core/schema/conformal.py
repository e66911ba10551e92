"""params.yaml `conformal`: split conformal prediction sets for every predictor."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from uncertainty.core.schema.base import CountOrAll, Increasing, Real, Section, Seed

ConformalScore = Literal["thr", "aps", "raps"]  # uncertainty.methods.conformal.SCORES


class Conformal(Section):
    seed: Seed
    alphas: Annotated[list[Annotated[Real, Field(gt=0, lt=1)]], Field(min_length=1), Increasing]
    scores: Annotated[list[ConformalScore], Field(min_length=1)]
    raps_lambda: Annotated[Real, Field(ge=0)] | Literal["auto"]
    raps_k_reg: CountOrAll | Literal["auto"]
    mondrian_score: ConformalScore
