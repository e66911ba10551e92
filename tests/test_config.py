"""params.yaml: the typed schema every stage reads, and check_params' full check, one line per mistake."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from tests.pipeline import DELETE, set_key
from uncertainty.config import CheckedParams, _bare, load_params, validate
from uncertainty.core.errors import PipelineError
from uncertainty.core.params import read_params
from uncertainty.core.schema.descriptions import DESCRIPTIONS, reference
from uncertainty.core.schema.params import SECTIONS, Params
from uncertainty.core.schema.train import Train
from uncertainty.methods.predictors import KINDS

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
DROPOUT_MODEL = {"dropout_rate": 0.1, "seed": 1}


def edited(path: str, value: Any) -> dict[str, Any]:
    """A copy of the defaults with `path` (dotted; DELETE removes it) set to `value`."""
    return set_key(copy.deepcopy(DEFAULTS), path, value)


def error_line(params: Any) -> str:
    with pytest.raises(PipelineError) as error:
        validate(params)
    return str(error.value)


# (dotted key, bad value, text the one-line message must contain: the key and the value or expectation)
# fmt: off
BAD = [
    # One value alone (uncertainty.core.schema), in pydantic's words.
    ("train.models.dropout.dropout_rate", 1.5, "train.models.dropout.dropout_rate: Input should be less than 1, got 1.5"),
    ("train.models.dropout.dropout_rate", -0.1, "train.models.dropout.dropout_rate: Input should be greater than or equal to 0"),
    ("train.models.dropout.dropout_rate", "0.1", "train.models.dropout.dropout_rate: Input should be a valid number, got '0.1'"),
    ("train.epochs", 0, "train.epochs: Input should be greater than or equal to 1, got 0"),
    ("train.epochs", "16", "train.epochs: Input should be a valid integer, got '16'"),
    ("train.epochs", 2.5, "train.epochs: Input should be a valid integer, got 2.5"),
    ("train.batch_size", -128, "train.batch_size: Input should be greater than or equal to 1, got -128"),
    ("train.learning_rate", 0, "train.learning_rate: Input should be greater than 0, got 0"),
    ("train.batch_shards", 0, "train.batch_shards: Input should be greater than or equal to 1, got 0"),
    ("train.strategy", "mirored", "train.strategy: Input should be 'default' or 'mirrored', got 'mirored' (did you mean 'mirrored'?)"),
    ("train.models", {}, "predictors.plain.models[0]: should be in train.models, got 'plain'"),
    ("train.models.a-b", DROPOUT_MODEL, "train.models.a-b (the name): String should match pattern"),
    ("train.models.plain.seed", -1, "train.models.plain.seed: Input should be greater than or equal to 0, got -1"),
    ("train.models.dropout.epochs", None, "train.models.dropout.epochs: Input should be a valid integer (or leave the key out), got None"),
    ("train.models.dropout.epochs", 0, "train.models.dropout.epochs: Input should be greater than or equal to 1, got 0"),
    ("mc_batch.passes", True, "mc_batch.passes: Input should be a valid integer, got True"),
    ("mc_batch.percentiles", [97.5, 2.5], "mc_batch.percentiles: List should be strictly increasing, got [97.5, 2.5]"),
    ("mc_batch.percentiles", [2.5, 120], "mc_batch.percentiles[1]: Input should be less than or equal to 100, got 120"),
    ("mc_batch.percentiles", [2.5], "mc_batch.percentiles: List should have at least 2 items"),
    ("mc_batch.positions", [], "mc_batch.positions: List should have at least 1 item"),
    ("mc_batch.positions", [0, True], "mc_batch.positions[1]: Input should be a valid integer, got True"),
    ("mc_batch.batch_size", 24, "mc_batch.batch_size: Input should be greater than or equal to 25, got 24"),
    ("mc_engine.chunk_passes", 0, "mc_engine.chunk_passes: Input should be greater than or equal to 1, got 0"),
    ("mc_engine.jit_compile", 1, "mc_engine.jit_compile: Input should be a valid boolean, got 1"),
    ("regression.seeds", {"onse": 84}, "regression.seeds.onse (the name): Input should be 'ones'"),
    ("regression.seeds", {"onse": 84}, "got 'onse' (did you mean 'ones'?)"),
    ("regression.epochs", None, "regression.epochs: Input should be a valid integer, got None"),
    ("regression.extrapolate_range", [40.0, -10.0], "regression.extrapolate_range: List should be strictly increasing"),
    ("linear_data.noise_std", -1.0, "linear_data.noise_std: Input should be greater than or equal to 0, got -1.0"),
    ("linear_data.slope", float("inf"), "linear_data.slope: Input should be a finite number, got inf"),
    ("linear_data.seed", False, "linear_data.seed: Input should be a valid integer, got False"),
    ("noise.repeats", 1, "noise.repeats: Input should be greater than or equal to 2, got 1"),
    ("prepare.source_dir", None, "prepare.source_dir: Input should be a valid string, got None"),
    ("prepare.source", "cifar", "prepare.source: Input should be 'fashion_mnist', 'mnist', 'npz'"),
    ("train.builder.file", "examples/absent.py", "train.builder.file: should be an existing .py file of the repository"),
    ("train.builder.file", "/tmp/x.py", "train.builder.file: String should match pattern"),
    ("train.builder.function", "build_cn", "train.builder.function: should be a function defined in uncertainty/models/cnn.py, got 'build_cn' (did you mean 'build_cnn'?)"),
    ("infer.mc_passes", 0, "infer.mc_passes: Input should be greater than or equal to 1, got 0"),
    ("infer.curve_passes", [5, 3], "infer.curve_passes: List should be strictly increasing, got [5, 3]"),
    ("infer.curve_passes", [], "infer.curve_passes: List should have at least 1 item"),
    ("infer.shift_mc_models", "dropout", "infer.shift_mc_models: Input should be a valid list, got 'dropout'"),
    ("evaluate.ece_bins", 0, "evaluate.ece_bins: Input should be greater than or equal to 1, got 0"),
    ("evaluate.coverages", [0.5, 1.5], "evaluate.coverages[1]: Input should be less than or equal to 1, got 1.5"),
    ("ood.gaussian_std", 0, "ood.gaussian_std: Input should be greater than 0, got 0"),
    ("shift.angles", [0, 400], "shift.angles[1]: Input should be less than or equal to 360, got 400"),
    ("predictors", {}, "predictors: Dictionary should have at least 1 item"),
    ("predictors.plain.label", "", "predictors.plain.label: String should have at least 1 character, got ''"),
    ("predictors.plain.models", ["plain", "a b"], "predictors.plain.models[1]: String should match pattern"),
    ("predictors.plain.colour", "red", "predictors.plain.colour: Extra inputs are not permitted"),
    ("verdicts.bootstrap", 99, "verdicts.bootstrap: Input should be greater than or equal to 100, got 99"),
    ("verdicts.confidence", 1.0, "verdicts.confidence: Input should be less than 1, got 1.0"),
    ("verdicts.comparisons", [], "verdicts.comparisons: List should have at least 1 item"),
    ("verdicts.comparisons", [["plain"]], "verdicts.comparisons[0]: List should have at least 2 items"),
    ("verdicts.comparisons", [["plain", "ensemble", "mc_dropout"]], "verdicts.comparisons[0]: List should have at most 2 items"),
    # Unknown and missing keys; the removed sections and keys are unknown now.
    ("train.dropout_rate", 0.1, "train.dropout_rate: Extra inputs are not permitted, got 0.1 (valid keys: builder, epochs,"),
    ("trian", {"epochs": 1}, "trian: Extra inputs are not permitted, got {'epochs': 1} (did you mean 'train'?)"),
    ("train.models.dropout.sed", 1, "train.models.dropout.sed: Extra inputs are not permitted, got 1 (did you mean 'seed'?)"),
    ("predict", {"mc_passes": 100}, "predict: Extra inputs are not permitted"),
    ("verdicts.ece_bins", 15, "verdicts.ece_bins: Extra inputs are not permitted, got 15"),
    ("noise", DELETE, "params.yaml: noise: Field required"),
    ("train.models.dropout.seed", DELETE, "params.yaml: train.models.dropout.seed: Field required"),
    # Rules across keys (uncertainty.config.CheckedParams).
    ("mc_batch.positions", [0, 200], "mc_batch.positions[1]: should be < mc_batch.batch_size (128), got 200"),
    ("train.batch_shards", 129, "train.batch_shards: should be <= train.batch_size (128), got 129"),
    ("train.models.plain", DELETE, "predictors.plain.models[0]: should be in train.models, got 'plain'"),
    ("train.models.dropout", DELETE, "predictors.mc_dropout.models[0]: should be in train.models, got 'dropout'"),
    ("train.models.plain.dropout_rate", 0.2, "predictors.plain.models[0]: should be a plain CNN (dropout_rate 0) or one listed in infer.also_without_dropout for kind softmax, got 'plain' (dropout_rate 0.2)"),
    ("train.models.dropout.dropout_rate", 0, "predictors.mc_dropout.models[0]: should be a dropout CNN (dropout_rate > 0, or saved with mc_samples) for kind mc_dropout, got 'dropout' (dropout_rate 0)"),
    ("infer.also_without_dropout", ["plain"], "infer.also_without_dropout[0]: should be a dropout CNN of train.models, got 'plain'"),
    ("predictors.plain.kind", "sofmax", "predictors.plain.kind: should be one of softmax, mc_dropout, ensemble, temperature, feature_density, knn, vim, rmds, laplace, histogram_binning, isotonic, vector_scaling, got 'sofmax' (did you mean 'softmax'?)"),
    ("predictors.plain.models", DELETE, "predictors.plain.models: should list at least 1 of train.models for kind softmax, got None"),
    ("predictors.plain.models", [], "predictors.plain.models: should list at least 1 of train.models for kind softmax, got []"),
    ("predictors.mc_dropout.models", [], "predictors.mc_dropout.models: should list at least 1 of train.models for kind mc_dropout"),
    ("predictors.ensemble.models", [], "predictors.ensemble.models: should list at least 1 of train.models for kind ensemble, got []"),
    ("predictors.plain.models", ["plain", "plain"], "predictors.plain.models: should not repeat a model, got ['plain', 'plain']"),
    ("predictors.ensemble.models", ["plain", "ensembel_1"], "predictors.ensemble.models[1]: should be in train.models, got 'ensembel_1' (did you mean 'ensemble_1'?)"),
    ("predictors.plain.models", ["plain", "dropout"], "predictors.plain.models[1]: should be a plain CNN (dropout_rate 0) or one listed in infer.also_without_dropout for kind softmax, got 'dropout' (dropout_rate 0.1)"),
    ("predictors.ensemble.models", ["plain", "dropout_1"], "predictors.ensemble.models[1]: should be a plain CNN (dropout_rate 0) or one listed in infer.also_without_dropout for kind ensemble, got 'dropout_1'"),
    ("predictors.mc_dropout.models", ["dropout", "plain"], "predictors.mc_dropout.models[1]: should be a dropout CNN (dropout_rate > 0, or saved with mc_samples) for kind mc_dropout, got 'plain' (dropout_rate 0.0)"),
    ("predictors.plain.of", "ensemble", "predictors.plain.of: should be left out (kind softmax takes models), got 'ensemble'"),
    ("predictors.plain.options", {"samples": 10}, "predictors.plain.options.samples: Extra inputs are not permitted, got 10 (kind softmax takes: ood_score)"),
    ("predictors.plain.options", {"ood_score": "energie"}, "predictors.plain.options.ood_score: should be a score of kind softmax: one_minus_max_prob, entropy, energy, max_logit, got 'energie' (did you mean 'energy'?)"),
    ("predictors.laplace.options", {"link": "logit"}, "predictors.laplace.options.link: Input should be 'probit', 'mc', 'pairwise' or 'centred', got 'logit'"),
    ("predictors.laplace.options", {"prior_precisions": [1, -1]}, "predictors.laplace.options.prior_precisions: Value error, every prior precision should be > 0, got [1, -1]"),
    ("predictors.ensemble.options", {"members": 3}, "predictors.ensemble.options.members: should divide the 10 models into equal ensembles, got 3"),
    ("predictors.ensemble.options", {"members": 0}, "predictors.ensemble.options.members: Input should be greater than or equal to 1, got 0"),
    ("conformal.alphas", [0.1, 0.05], "conformal.alphas: List should be strictly increasing, got [0.1, 0.05]"),
    ("conformal.alphas", [0.0, 0.05], "conformal.alphas[0]: Input should be greater than 0, got 0.0"),
    ("conformal.scores", ["thr", "lac"], "conformal.scores[1]: Input should be 'thr', 'aps' or 'raps', got 'lac'"),
    ("conformal.raps_k_reg", -1, "conformal.raps_k_reg"),
    ("predictors.feature_density.options", {"jitter": 1}, "predictors.feature_density.options.jitter: Extra inputs are not permitted, got 1 (kind feature_density takes: none)"),
    ("predictors.knn.options", {"k": 0}, "predictors.knn.options.k: Input should be greater than or equal to 1, got 0"),
    ("predictors.vim.options", {"dims": 3}, "predictors.vim.options.dims: Extra inputs are not permitted, got 3 (kind vim takes: dim)"),
    ("predictors.plain_histogram.options", {"bins": 0}, "predictors.plain_histogram.options.bins: Input should be greater than or equal to 1, got 0"),
    ("predictors.plain_isotonic.options", {"bins": 10}, "predictors.plain_isotonic.options.bins: Extra inputs are not permitted, got 10 (kind isotonic takes: none)"),
    ("predictors.plain_ts.models", ["plain", "ensemble_1"], "predictors.plain_ts.models: should be left out (kind temperature scales predictor `of`)"),
    ("predictors.plain_ts.of", DELETE, "predictors.plain_ts.of: should name a predictor defined before it, got None"),
    ("predictors.plain_ts.of", "plian", "predictors.plain_ts.of: should name a predictor defined before it, got 'plian' (did you mean 'plain'?)"),
    ("predictors.plain_ts.of", "ensemble_ts", "predictors.plain_ts.of: should name a predictor defined before it, got 'ensemble_ts'"),
    ("predictors.mc_dropout_ts.of", "plain_ts", "predictors.mc_dropout_ts.of: should not be a temperature predictor, got 'plain_ts'"),
    ("infer.curve_passes", [200, 500], "infer.curve_passes[0]: should be <= infer.mc_passes (100), got 200"),
    ("infer.shift_mc_models", ["dropout", "ensemble_1"], "infer.shift_mc_models[1]: should be a dropout CNN of train.models, got 'ensemble_1'"),
    ("infer.shift_mc_models", ["dropot"], "infer.shift_mc_models[0]: should be a dropout CNN of train.models, got 'dropot' (did you mean 'dropout'?)"),
    ("infer.shift_mc_models", ["dropout_1"], "infer.shift_mc_models: should include 'dropout' (predictor mc_dropout's first model), got ['dropout_1']"),
    ("verdicts.comparisons", [["ensemble", "plian"]], "verdicts.comparisons[0][1]: should be a predictor of predictors, got 'plian' (did you mean 'plain'?)"),
    ("verdicts.comparisons", [["plain", "ensemble"], ["plain", "plain"]], "verdicts.comparisons[1]: should name two different predictors, got ['plain', 'plain']"),
    # Counts against the real data: 60,000 / 10,000 Fashion-MNIST images, 5,000 MNIST digits.
    ("prepare.train_limit", 60001, "prepare.train_limit: should be 0 (all) or at most 60,000 (the Fashion-MNIST train images), got 60001"),
    ("prepare.test_limit", 20000, "prepare.test_limit: should be 0 (all) or at most 10,000"),
    ("prepare.test_limit", 100, "prepare.test_limit: should be 0 or >= 128 (mc_batch needs one full batch"),
    ("mc_batch.batch_index", 100, "mc_batch.batch_index: should be < 78 (10,000 test images make 78 full batches of 128"),
    ("mc_batch.batch_index", 78, "batch 78 would have only 16 images), got 78"),
    ("shift.test_limit", 10001, "shift.test_limit: should be 0 (all) or at most 10,000 (the test images prepare keeps), got 10001"),
]
# fmt: on


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_value_is_one_clear_line(key: str, value: Any, message: str) -> None:
    line = error_line(edited(key, value))
    assert message in line
    assert "\n" not in line and line.startswith("params.yaml: ")


def test_every_kind_has_a_case() -> None:
    """Every kind of the registry is used by the defaults, so each is checked end to end."""
    assert {predictor["kind"] for predictor in DEFAULTS["predictors"].values()} == set(KINDS)


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        (
            "mc_batch.pases",
            1000,
            "params.yaml: mc_batch.pases: Extra inputs are not permitted, got 1000 (did you mean 'passes'?)",
        ),
        (
            "train.models.dropout_2.dropout_rat",
            0.1,
            "params.yaml: train.models.dropout_2.dropout_rat: Extra inputs are not permitted, got 0.1 "
            "(did you mean 'dropout_rate'?)",
        ),
        (
            "predictors.mc_dropout.model",
            ["dropout"],
            "params.yaml: predictors.mc_dropout.model: Extra inputs are not permitted, got ['dropout'] "
            "(did you mean 'models'?)",
        ),
        (
            "infer.curve_pases",
            [1],
            "params.yaml: infer.curve_pases: Extra inputs are not permitted, got [1] (did you mean 'curve_passes'?)",
        ),
    ],
)
def test_misspelt_key_names_the_nearest_valid_key(key: str, value: Any, line: str) -> None:
    assert error_line(edited(key, value)) == line


def test_the_first_error_pydantic_reports_is_the_line() -> None:
    """Every section's own errors come before any rule across keys (those run only on valid sections)."""
    params = edited("mc_batch.positions", [0, 200])  # a cross-key rule
    set_key(params, "verdicts.bootstrap", 5)  # a value alone, further down the file
    assert error_line(params) == (
        "params.yaml: verdicts.bootstrap: Input should be greater than or equal to 100, got 5"
    )
    set_key(params, "verdicts.bootstrap", 1000)
    set_key(params, "predictors.plain.kind", "bogus")  # a later rule
    assert error_line(params).startswith("params.yaml: mc_batch.positions[1]: ")


def test_a_long_value_is_shortened_to_keep_one_short_line() -> None:
    line = error_line(edited("trian", {f"key_{i}": i for i in range(50)}))
    assert line.startswith("params.yaml: trian: Extra inputs are not permitted, got {'key_0': 0")
    assert line.endswith("... (did you mean 'train'?)") and len(line) < 200


def test_defaults_are_valid() -> None:
    params = validate(copy.deepcopy(DEFAULTS))
    assert isinstance(params, CheckedParams)
    assert params.train.models["plain"].seed == 84
    assert load_params(ROOT / "params.yaml") == params


def test_real_sizes_allow_the_last_full_batch() -> None:
    assert validate(edited("mc_batch.batch_index", 77)).mc_batch.batch_index == 77


def test_shift_limit_is_checked_against_the_kept_test_images() -> None:
    params = edited("prepare.test_limit", 2000)
    params["shift"]["test_limit"] = 2001
    assert "shift.test_limit: should be 0 (all) or at most 2,000" in error_line(params)


def test_predictors_accept_another_valid_registry() -> None:
    """Two-model predictors, a temperature of a temperature-free predictor, comparisons among them."""
    params = edited(
        "predictors",
        {
            "single": {"label": "one CNN", "kind": "softmax", "models": ["ensemble_1", "ensemble_2"]},
            "mc": {"label": "MC", "kind": "mc_dropout", "models": ["dropout", "dropout_1"]},
            "pair": {"label": "two", "kind": "ensemble", "models": ["plain"]},
            "mc_ts": {"label": "MC + T", "kind": "temperature", "of": "mc"},
        },
    )
    set_key(params, "verdicts.comparisons", [["mc_ts", "mc"], ["pair", "single"]])
    typed = validate(params)
    assert list(typed.predictors) == ["single", "mc", "pair", "mc_ts"]
    assert typed.predictors["mc_ts"].models is None and typed.predictors["mc_ts"].of == "mc"


def test_read_params_is_typed_with_attribute_access() -> None:
    params = read_params(SECTIONS, ROOT / "params.yaml")
    assert isinstance(params.train, Train) and not isinstance(params, CheckedParams)
    assert read_params(SECTIONS, ROOT / "params.yaml") == params
    assert params.predictors["plain"].models is not None and params.predictors["plain"].models[0] == "plain"
    assert params.train.models["plain"].dropout_rate == 0
    assert params.train.models["dropout"].epochs is None and params.train.epochs == 16
    assert params.verdicts.comparisons[0] == ["mc_dropout", "plain"]
    with pytest.raises(Exception, match="frozen"):
        params.train.epochs = 3  # type: ignore[misc]


def test_a_stage_reads_only_its_sections(tmp_path: Path) -> None:
    """A broken section a stage does not read cannot stop it: each stage depends on its own sections only."""
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(edited("conformal.alphas", "bogus"), sort_keys=False))
    params = read_params({"train": Train}, path)
    assert vars(params) == {"train": Train.model_validate(DEFAULTS["train"])}
    with pytest.raises(PipelineError, match="section 'conformal' invalid"):
        read_params({"conformal": SECTIONS["conformal"]}, path)


def test_read_params_runs_no_rule_across_keys(tmp_path: Path) -> None:
    """The stages' schema checks each value alone: the rules live in config, outside every stage's deps."""
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(edited("predictors.plain.kind", "bogus"), sort_keys=False))
    assert read_params(SECTIONS, path).predictors["plain"].kind == "bogus"
    with pytest.raises(PipelineError, match=r"predictors.plain.kind: should be one of"):
        load_params(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "file not found; run from the project root"),
        ("train:\n  epochs: [1\n", "malformed YAML; `dvc repro check_params` says where"),
        ("train: {epochs: 1}\n", "section 'train' invalid; `dvc repro check_params` says what is wrong"),
        ("- a list\n", "invalid; `dvc repro check_params` says what is wrong"),
    ],
)
def test_read_params_errors_are_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "params.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(PipelineError, match=message):
        read_params({"train": Train}, path)


def test_a_model_may_set_its_own_epochs_and_saves_as_written() -> None:
    """The train stage saves `spec.model_dump(exclude_none=True)`: the YAML mapping itself, same bytes."""
    params = validate(edited("train.models.dropout.epochs", 4))
    assert params.train.models["dropout"].epochs == 4
    for name, spec in validate(copy.deepcopy(DEFAULTS)).train.models.items():
        assert repr(spec.model_dump(exclude_none=True)) == repr(DEFAULTS["train"]["models"][name])
    written = validate(edited("train.models.plain.dropout_rate", 0)).train.models["plain"]
    assert repr(written.model_dump(exclude_none=True)) == "{'dropout_rate': 0, 'seed': 84}"


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


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every section model under it (through dicts, lists and optionals)."""
    found = [model]
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            node = stack.pop()
            if isinstance(node, type) and issubclass(node, BaseModel):
                found += [m for m in _models(node) if m not in found]
            else:
                stack += getattr(node, "__args__", ())
    return found


def test_schema_reads_as_the_file_does() -> None:
    """One typed section per section of params.yaml, in the file's order, every key in its order."""
    assert list(Params.model_fields) == list(DEFAULTS)
    for section, fields in DEFAULTS.items():
        annotation = Params.model_fields[section].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            assert list(annotation.model_fields) == list(fields), section


def _is_section(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _keys(model: Any, prefix: str = "") -> list[str]:
    """Every key path of the schema, `<name>` for the names of a mapping of sections."""
    found = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        found.append(key)
        node = _bare(field.annotation)
        if get_origin(node) is dict and _is_section(_bare(get_args(node)[1])):
            node, key = _bare(get_args(node)[1]), f"{key}.<name>"
            found.append(key)
        if isinstance(node, type) and issubclass(node, BaseModel):
            found += _keys(node, f"{key}.")
    return found


def test_every_key_is_described_once_apart_from_the_types() -> None:
    """descriptions.py names exactly the schema's keys, in the file's order; the types carry none."""
    assert list(DESCRIPTIONS) == _keys(Params)
    assert all(text.strip() for text in DESCRIPTIONS.values())
    for model in _models(Params):
        assert not any(field.description for field in model.model_fields.values()), model.__name__


def test_the_params_reference_is_generated() -> None:
    assert (ROOT / "docs" / "params-reference.md").read_text() == reference()


def test_the_typed_model_holds_the_file_itself() -> None:
    """The same keys, values and int/float types as the file (`0` stays `0`, not `0.0`)."""
    typed = Params.model_validate(yaml.safe_load((ROOT / "params.yaml").read_text())).model_dump(
        exclude_unset=True
    )
    assert typed == DEFAULTS and repr(typed) == repr(DEFAULTS)


def _check_params(directory: Path, params: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`python -m stages.check_params` in `directory` (its params.yaml and train.builder's file), as dvc.yaml runs it."""
    (directory / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    builder = directory / params["train"]["builder"]["file"]
    builder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / params["train"]["builder"]["file"], builder)
    return subprocess.run(
        [sys.executable, "-m", "stages.check_params", "--ok", str(directory / "params_ok.txt")],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_params_stops_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = _check_params(tmp_path, edited("predictors.plain_ts.of", "plian"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: params.yaml: predictors.plain_ts.of: should name a predictor defined before it, "
        "got 'plian' (did you mean 'plain'?)"
    ]
    assert not (tmp_path / "params_ok.txt").exists()


def test_check_params_writes_its_output_on_the_defaults(tmp_path: Path) -> None:
    result = _check_params(tmp_path, copy.deepcopy(DEFAULTS))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "params_ok.txt").read_text() == "params.yaml is valid\n"


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        ("uncertainty.core.params", ("tensorflow", "keras", "numpy")),  # every stage, training included
        ("uncertainty.config", ("tensorflow", "keras")),  # check_params, before every dvc repro
    ],
)
def test_the_params_modules_import_nothing_heavy(module: str, heavy: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("", "params.yaml: prepare.file: should name your .npz file (prepare.source is npz), got ''"),
        (
            "inputs/absent.npz",
            "params.yaml: prepare.file: should be an existing .npz file, got 'inputs/absent.npz'",
        ),
    ],
)
def test_a_users_data_file_is_looked_for_before_any_stage_runs(file: str, message: str) -> None:
    params = set_key(edited("prepare.source", "npz"), "prepare.file", file)
    assert error_line(params) == message


def test_an_imported_model_needs_its_file_in_inputs_and_its_own_name() -> None:
    imported = {"elsewhere": {"file": "inputs/absent.keras", "dropout_rate": 0.0}}
    assert error_line(edited("train.imported", imported)) == (
        "params.yaml: train.imported.elsewhere.file: should be an existing .keras file in inputs/, got 'inputs/absent.keras'"
    )
    assert "train.imported.elsewhere.file: String should match pattern" in error_line(
        edited("train.imported", {"elsewhere": {"file": "elsewhere/model.h5"}})
    )
    assert error_line(edited("train.imported", {"plain": {"file": "inputs/digits_bn.keras"}})) == (
        "params.yaml: train.imported.plain: should not reuse a name of train.models, got 'plain'"
    )
    entry = {"file": "inputs/digits_bn.keras", "dropout_rate": 0.0, "seed": 0}
    assert error_line(edited("train.models.elsewhere", entry)) == (
        "params.yaml: train.models.elsewhere.file: should be left out: a model trained elsewhere goes in "
        "train.imported, got 'inputs/digits_bn.keras'"
    )
