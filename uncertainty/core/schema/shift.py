"""params.yaml `shift`: dataset shift, the test set rotated."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from uncertainty.core.schema.base import CountOrAll, Increasing, Section


class Shift(Section):
    angles: Annotated[list[Annotated[int, Field(ge=0, le=360)]], Field(min_length=1), Increasing]
    test_limit: CountOrAll
