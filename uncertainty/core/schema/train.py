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
    # Set only on the entries train.saved adds: outputs saved elsewhere, no model (uncertainty.data.predictions).
    saved: str | None = None
    mc_samples: bool | None = None

    @property
    def stochastic(self) -> bool:
        """Its outputs are stochastic passes: a dropout CNN, or saved outputs with MC samples."""
        return self.dropout_rate > 0 or bool(self.mc_samples)

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


class SavedModel(Section):
    """A model known only by its outputs, saved by any framework (uncertainty.data.predictions): training
    `training` of a predictions .npz in inputs/ (its leading trainings axis; 0 without one). `mc_samples`:
    the file holds MC passes (`<set>_mc_logits`), which MC dropout's predictors read."""

    file: str = Field(pattern=r"^inputs/[^/]+\.npz$")
    training: int = Field(default=0, ge=0)
    mc_samples: bool = False


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
    saved: dict[Name, SavedModel] = Field(default_factory=dict)  # outputs saved elsewhere: the saved stage

    @model_validator(mode="after")
    def _one_set_of_names(self) -> Self:
        """Every later stage sees one set of models: the imported ones join `models` (with their `file`);
        a name in both stays the trained one's, for check_params to name (uncertainty.config). The saved
        ones join it too, marked `saved` (no model: nothing loads them)."""
        for name, spec in self.imported.items():
            if name not in self.models:
                self.models[name] = TrainedModel(dropout_rate=spec.dropout_rate, seed=0, file=spec.file)
        for name, saved in self.saved.items():
            if name not in self.models:
                self.models[name] = TrainedModel(
                    dropout_rate=0.0, seed=0, saved=saved.file, mc_samples=saved.mc_samples or None
                )
        return self
