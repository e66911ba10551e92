"""params.yaml schema: the defaults pass; every kind of mistake gives one clear line."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline import DELETE, set_key
from uncertainty.config import Params, load_params, validate, validate_typed
from uncertainty.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def edited(path: str, value: Any) -> dict[str, Any]:
    """A copy of the defaults with `path` (dotted; DELETE removes it) set to `value`."""
    return set_key(copy.deepcopy(DEFAULTS), path, value)


# (dotted key, bad value, text the one-line message must contain)
BAD = [
    (
        "train.models.dropout.dropout_rate",
        1.5,
        "train.models.dropout.dropout_rate must be in [0, 1), got 1.5",
    ),
    ("train.models.dropout.dropout_rate", -0.1, "must be in [0, 1)"),
    ("train.models.dropout.dropout_rate", 0.0, "train.models.dropout.dropout_rate must be in (0, 1)"),
    ("train.models.plain.dropout_rate", 0.2, "train.models.plain.dropout_rate must be 0"),
    ("train.epochs", 0, "train.epochs must be an integer >= 1, got 0"),
    ("train.epochs", "16", "train.epochs must be an integer"),
    ("train.epochs", 2.5, "train.epochs must be an integer"),
    ("train.batch_size", -128, "train.batch_size must be an integer >= 1"),
    ("train.learning_rate", 0, "train.learning_rate must be a number > 0"),
    ("train.batch_shards", 0, "train.batch_shards must be an integer >= 1, got 0"),
    ("train.batch_shards", 129, "train.batch_shards must be at most train.batch_size (128), got 129"),
    ("train.strategy", "mirored", "did you mean 'mirrored'"),
    ("train.models", {}, "train.models must be a non-empty mapping"),
    ("mc_batch.passes", True, "mc_batch.passes must be an integer"),
    ("mc_batch.percentiles", [97.5, 2.5], "mc_batch.percentiles must be strictly increasing"),
    ("mc_batch.percentiles", [2.5, 120], "mc_batch.percentiles[1] must be in [0, 100]"),
    ("mc_batch.positions", [], "mc_batch.positions must have at least 1 item"),
    ("mc_batch.positions", [0, 200], "mc_batch.positions must be < mc_batch.batch_size"),
    ("regression.seeds", {"onse": 84}, "unknown initializer 'onse' (did you mean 'ones'?)"),
    ("regression.epochs", None, "regression.epochs must be an integer"),
    ("linear_data.noise_std", -1.0, "linear_data.noise_std must be a number >= 0"),
    ("noise.repeats", 1, "noise.repeats must be an integer >= 2"),
    ("prepare.source_dir", None, "prepare.source_dir must be a string"),
    ("prepare.test_limit", 100, "prepare.test_limit must be 0 or >= 128"),
    ("train.dropout_rate", 0.1, "unknown key 'train.dropout_rate' in train"),
    ("trian", {"epochs": 1}, "unknown key 'trian' in top level (did you mean 'train'?)"),
    (
        "train.models.dropout.sed",
        1,
        "unknown key 'train.models.dropout.sed' in train.models.dropout (did you mean 'seed'?)",
    ),
    ("noise", DELETE, "missing key 'noise' in top level"),
    ("train.models.dropout.seed", DELETE, "missing key 'train.models.dropout.seed'"),
    ("mc_engine.chunk_passes", 0, "mc_engine.chunk_passes must be an integer >= 1"),
    # Checked against the real sizes: 10,000 test images when prepare.test_limit is 0.
    ("mc_batch.batch_index", 100, "mc_batch.batch_index must be < 78 (10,000 test images make 78 full"),
    ("mc_batch.batch_index", 78, "batch 78 would have only 16 images), got 78"),
    ("prepare.test_limit", 20000, "prepare.test_limit must be 0 (all) or at most 10,000"),
    ("prepare.train_limit", 60001, "prepare.train_limit must be 0 (all) or at most 60,000"),
    ("shift.test_limit", 10001, "shift.test_limit must be 0 (all) or at most 10,000"),
    ("ood.mnist_limit", 5001, "ood.mnist_limit must be 0 (all) or at most 5,000"),
    ("seeds.dropout", ["dropout"], "seeds.dropout must have at least 2 item(s)"),
    ("seeds.dropout", ["dropout", "ensemble_1"], "seeds.dropout must be dropout CNNs (dropout_rate > 0)"),
    ("seeds.plain", ["plain", "dropout"], "seeds.plain[1] 'dropout' must be a plain CNN"),
    ("seeds.plain", ["plain", "ensemble_9"], "seeds.plain[1] 'ensemble_9' is not in train.models"),
    ("seeds.plain", ["plain", "plain"], "seeds.plain has repeated models"),
    (
        "seeds.curve_passes",
        [200, 500],
        "seeds.curve_passes must start at or below predict.mc_passes (100), got 200",
    ),
    ("verdicts.confidence", 1.0, "verdicts.confidence must be in [0.5, 1)"),
    ("seeds.plain", ["ensemble_1", "ensemble_2"], "seeds.plain must include the 'plain' model"),
    (
        "seeds.plain",
        ["plain", "ensemble_1", "ensemble_2", "ensemble_3"],
        "every predict.ensemble member must be in seeds.plain (its outputs are computed there), missing ['ensemble_4']",
    ),
]


def test_real_sizes_allow_the_last_full_batch() -> None:
    assert validate(edited("mc_batch.batch_index", 77))["mc_batch"]["batch_index"] == 77


def test_shift_limit_is_checked_against_the_kept_test_images() -> None:
    params = edited("prepare.test_limit", 2000)
    params["shift"]["test_limit"] = 2001
    with pytest.raises(PipelineError, match=r"shift.test_limit must be 0 \(all\) or at most 2,000"):
        validate(params)


def test_defaults_are_valid() -> None:
    assert validate(copy.deepcopy(DEFAULTS))["train"]["models"]["plain"]["seed"] == 84


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_value_is_one_clear_line(key: str, value: Any, message: str) -> None:
    with pytest.raises(PipelineError) as error:
        validate(edited(key, value))
    text = str(error.value)
    assert message in text
    assert "\n" not in text and text.startswith("params.yaml")


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: [1\n")
    with pytest.raises(PipelineError, match=r"params.yaml: malformed YAML at line \d+"):
        load_params(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="file not found"):
        load_params(tmp_path / "params.yaml")


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(PipelineError, match="must be a mapping"):
        load_params(path)


def test_schema_reads_as_the_file_does() -> None:
    """One typed section per section of params.yaml, in the file's order."""
    assert list(Params.model_fields) == list(DEFAULTS)


@pytest.mark.parametrize("section", list(DEFAULTS))
def test_every_section_round_trips_through_the_typed_model(section: str) -> None:
    """The typed model holds the file itself: the same keys, values and int/float types."""
    typed = validate_typed(copy.deepcopy(DEFAULTS)).model_dump(exclude_unset=True)[section]
    assert typed == DEFAULTS[section]
    assert repr(typed) == repr(DEFAULTS[section])
    assert validate(copy.deepcopy(DEFAULTS))[section] == DEFAULTS[section]


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        (
            "mc_batch.pases",
            1000,
            "params.yaml: unknown key 'mc_batch.pases' in mc_batch (did you mean 'passes'?); "
            "valid keys: seed, batch_index, batch_size, passes, percentiles, positions",
        ),
        (
            "train.models.dropout_2.dropout_rat",
            0.1,
            "params.yaml: unknown key 'train.models.dropout_2.dropout_rat' in train.models.dropout_2 "
            "(did you mean 'dropout_rate'?); valid keys: dropout_rate, seed, epochs",
        ),
    ],
)
def test_misspelt_nested_key_names_the_nearest_valid_key(key: str, value: Any, line: str) -> None:
    with pytest.raises(PipelineError) as error:
        validate(edited(key, value))
    assert str(error.value) == line


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("train.epochs", True, "params.yaml: train.epochs must be an integer, got True"),
        ("linear_data.seed", False, "params.yaml: linear_data.seed must be an integer, got False"),
        ("mc_engine.chunk_passes", True, "params.yaml: mc_engine.chunk_passes must be an integer, got True"),
        ("mc_batch.positions", [0, True], "params.yaml: mc_batch.positions[1] must be an integer, got True"),
        ("train.learning_rate", True, "params.yaml: train.learning_rate must be a number, got True"),
        ("mc_engine.jit_compile", 1, "params.yaml: mc_engine.jit_compile must be true or false, got 1"),
    ],
)
def test_bool_is_not_a_number_nor_a_number_a_bool(key: str, value: Any, line: str) -> None:
    """YAML's yes/true is a bool, and bool is an int in Python: the schema still tells them apart."""
    with pytest.raises(PipelineError) as error:
        validate(edited(key, value))
    assert str(error.value) == line


def first_line(params: dict[str, Any]) -> str:
    with pytest.raises(PipelineError) as error:
        validate(params)
    return str(error.value)


def test_many_mistakes_give_exactly_one_line_the_first_in_the_file() -> None:
    """Pydantic finds every mistake; the message is one line, about the one met first going down the file.

    At each level: unknown keys, then missing keys, then the values, in the file's order.
    """
    params = edited("linear_data.seed", -1)
    set_key(params, "train.epochs", 0)
    set_key(params, "train.epoch", 16)
    set_key(params, "verdicts", DELETE)
    assert first_line(params) == "params.yaml: missing key 'verdicts' in top level"
    params["verdicts"] = copy.deepcopy(DEFAULTS["verdicts"])
    assert first_line(params) == "params.yaml: linear_data.seed must be in [0, 2147483647], got -1"
    params["linear_data"]["seed"] = 84
    assert first_line(params) == (
        "params.yaml: unknown key 'train.epoch' in train (did you mean 'epochs'?); "
        "valid keys: epochs, batch_size, learning_rate, strategy, steps_per_execution, batch_shards, models"
    )
    del params["train"]["epoch"]
    assert first_line(params) == "params.yaml: train.epochs must be an integer >= 1, got 0"


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        # A list too short is reported before a bad item in it.
        ("seeds.plain", [1], "params.yaml: seeds.plain must have at least 2 item(s), got [1]"),
        # A mapping entry's bad name is reported before anything wrong in its value.
        (
            "train.models",
            {"a-b": 1},
            "params.yaml: train.models has an invalid model name 'a-b' (letters, digits, _), got 'a-b'",
        ),
        # Numbers are quoted as the file wrote them: 0, not 0.0.
        (
            "train.models.dropout.dropout_rate",
            0,
            "params.yaml: train.models.dropout.dropout_rate must be in (0, 1), got 0",
        ),
        (
            "train.models.dropout.epochs",
            None,
            "params.yaml: train.models.dropout.epochs must be an integer, got None",
        ),
        (
            "linear_data.slope",
            float("inf"),
            "params.yaml: linear_data.slope must be a finite number, got inf",
        ),
    ],
)
def test_exact_line(key: str, value: Any, line: str) -> None:
    with pytest.raises(PipelineError) as error:
        validate(edited(key, value))
    assert str(error.value) == line


def test_a_model_may_set_its_own_epochs() -> None:
    assert validate_typed(edited("train.models.dropout.epochs", 4)).train.models["dropout"].epochs == 4
    assert validate_typed(copy.deepcopy(DEFAULTS)).train.models["dropout"].epochs is None


def test_importing_the_schema_does_not_import_tensorflow() -> None:
    """check_params runs before every `dvc repro` and must stay well under a second."""
    code = "import sys, uncertainty.config; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
