"""What every section of the params.yaml schema shares: the strict base model and the value types."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WrapValidator
from pydantic_core import PydanticCustomError


def _keep_as_written(value: Any, handler: Any) -> Any:
    """Check a number as a float but keep the int or float the file wrote (0 stays 0, as saved specs)."""
    handler(value)
    return value


def _strictly_increasing(values: list[Any]) -> list[Any]:
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        raise PydanticCustomError("strictly_increasing", "List should be strictly increasing")
    return values


Real = Annotated[float, WrapValidator(_keep_as_written)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
PositiveInt = Annotated[int, Field(ge=1)]
CountOrAll = Annotated[int, Field(ge=0)]  # 0 means "all"
Positive = Annotated[Real, Field(gt=0)]
# Model and predictor names become file names and DVC stage names (train@<name>).
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
Increasing = AfterValidator(_strictly_increasing)
Strategy = Literal["default", "mirrored"]  # tf.distribute strategies


class Section(BaseModel):
    """Exactly these keys (a misspelt key is an error, never ignored), no coercion, no inf/nan."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
