"""params.yaml `train`: articles 1.4/1.5, one entry per model."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from uncertainty.schema.base import Name, Positive, PositiveInt, Real, Section, Seed, Strategy


class TrainedModel(Section):
    dropout_rate: Real = Field(ge=0, lt=1)
    seed: Seed
    epochs: PositiveInt | None = None
    # Trained elsewhere: a .keras file in inputs/, checked and used as trained (its dropout_rate says
    # whether it has Dropout layers; seed and epochs do not apply).
    file: str | None = Field(default=None, pattern=r"^inputs/[^/]+\.keras$")

    @field_validator("epochs", mode="before")
    @classmethod
    def _absent_rather_than_null(cls, value: Any) -> Any:
        """Left out means train.epochs; a null would be a mistake, so it is one."""
        if value is None:
            raise PydanticCustomError("int_type", "Input should be a valid integer (or leave the key out)")
        return value


class Builder(Section):
    """The architecture: `function(input_shape, num_classes, dropout_rate) -> keras.Model` in `file` (uncertainty.cnn)."""

    file: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_/]*\.py$"
    )  # a module of the repository, a DVC dependency
    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Train(Section):
    builder: Builder
    epochs: PositiveInt
    batch_size: PositiveInt
    learning_rate: Positive
    strategy: Strategy
    steps_per_execution: PositiveInt
    batch_shards: PositiveInt
    models: dict[Name, TrainedModel] = Field(min_length=1)
