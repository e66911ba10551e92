"""params.yaml `train`: articles 1.4/1.5, one entry per model."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from uncertainty.core.schema.base import Name, Positive, PositiveInt, Real, Section, Seed, Strategy


class TrainedModel(Section):
    dropout_rate: Real = Field(ge=0, lt=1)
    seed: Seed
    epochs: PositiveInt | None = None
    # Set only on the entries train.imported adds (trained elsewhere: seed and epochs do not apply).
    file: str | None = Field(default=None, pattern=r"^inputs/[^/]+\.keras$")

    @field_validator("epochs", mode="before")
    @classmethod
    def _absent_rather_than_null(cls, value: Any) -> Any:
        """Left out means train.epochs; a null would be a mistake, so it is one."""
        if value is None:
            raise PydanticCustomError("int_type", "Input should be a valid integer (or leave the key out)")
        return value


class ImportedModel(Section):
    """A model trained elsewhere: a .keras file in inputs/, checked and used as trained. Its dropout_rate
    says whether it has Dropout layers (> 0: MC dropout samples them); its own file is its stage's
    dependency, so adding another file to inputs/ re-runs nothing."""

    file: str = Field(pattern=r"^inputs/[^/]+\.keras$")
    dropout_rate: Real = Field(default=0.0, ge=0, lt=1)


class Builder(Section):
    """The architecture: `function(input_shape, num_classes, dropout_rate) -> keras.Model` in `file` (uncertainty.models.cnn)."""

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
    models: dict[Name, TrainedModel] = Field(default_factory=dict)  # trained here by train.builder
    imported: dict[Name, ImportedModel] = Field(default_factory=dict)  # trained elsewhere: the import stage

    @model_validator(mode="after")
    def _one_set_of_names(self) -> Self:
        """Every later stage sees one set of models: the imported ones join `models` (with their `file`);
        a name in both stays the trained one's, for check_params to name (uncertainty.config)."""
        for name, spec in self.imported.items():
            if name not in self.models:
                self.models[name] = TrainedModel(dropout_rate=spec.dropout_rate, seed=0, file=spec.file)
        return self
