"""params.yaml `mc_batch`: articles 1.6, 1.8, 1.9, MC dropout on one test batch."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from uncertainty.core.schema.base import CountOrAll, Increasing, PositiveInt, Real, Section, Seed


class McBatch(Section):
    seed: Seed
    batch_index: CountOrAll
    batch_size: int = Field(ge=25)  # the 5x5 figures need 25
    passes: PositiveInt
    percentiles: Annotated[
        list[Annotated[Real, Field(ge=0, le=100)]], Field(min_length=2, max_length=2), Increasing
    ]
    positions: Annotated[list[CountOrAll], Field(min_length=1), Increasing]
