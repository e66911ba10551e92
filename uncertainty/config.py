"""check_params' full check of params.yaml: each value alone (uncertainty.core.schema), then the rules
that tie keys together and to the real data (`CheckedParams`), every problem as one line.

A line reads ``params.yaml: <dotted key>: <what was wrong>, got <value>`` in pydantic's own words
(the first error pydantic reports), with the nearest valid name suggested for an unknown key or
name: DVC never looks at a key that no stage declares, so a misspelt key would otherwise be
silently ignored. Only check_params (and the tests) import this module; stages read the typed
params through uncertainty.core.params, so editing a rule or a message never retrains a CNN.
"""

from __future__ import annotations

import ast
import difflib
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.core.params import PARAMS_FILE
from uncertainty.core.schema.params import Params
from uncertainty.data.corruptions import CORRUPTIONS
from uncertainty.data.fashion_mnist import FASHION_MNIST_FILES
from uncertainty.methods.posthoc import module as posthoc_module
from uncertainty.methods.predictors import KINDS, Kind

# What the default data really holds, so that counts and indices are checked against it (limit 0 = all of
# it); another source's counts are checked when the prepare stage reads it.
TRAIN_IMAGES = FASHION_MNIST_FILES["train_images"][3]  # 60,000
TEST_IMAGES = FASHION_MNIST_FILES["test_images"][3]  # 10,000
RULE = "params_rule"  # the error type of a broken cross-key rule


def options_model(kind: Kind) -> type[BaseModel]:
    """What a kind's params entry may set under `options`: its post-hoc method's Options, or its own."""
    return posthoc_module(kind.posthoc).Options if kind.posthoc else kind.options


def _suggest(name: Any, candidates: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _broken(key: str, text: str, value: Any, tail: str = "") -> PydanticCustomError:
    """A broken rule about `key`: what it should be, the value found and, after it, a hint."""
    return PydanticCustomError(RULE, text, {"key": key, "value": value, "tail": tail})


class CheckedParams(Params):
    """params.yaml with the rules that involve more than one key; the first broken one is the error."""

    @model_validator(mode="after")
    def _batches(self) -> Self:
        batch, train = self.mc_batch, self.train
        if batch.positions[-1] >= batch.batch_size:
            key = f"mc_batch.positions[{len(batch.positions) - 1}]"
            raise _broken(key, f"should be < mc_batch.batch_size ({batch.batch_size})", batch.positions[-1])
        if train.batch_shards > train.batch_size:  # more slices than images: only blank padding
            raise _broken(
                "train.batch_shards",
                f"should be <= train.batch_size ({train.batch_size})",
                train.batch_shards,
            )
        return self

    @model_validator(mode="after")
    def _predictors(self) -> Self:
        models, names = self.train.models, list(self.predictors)
        for position, (name, predictor) in enumerate(self.predictors.items()):
            key, kind = f"predictors.{name}", predictor.kind
            if kind not in KINDS:
                raise _broken(
                    f"{key}.kind", f"should be one of {', '.join(KINDS)}", kind, _suggest(kind, KINDS)
                )
            options = options_model(KINDS[kind])
            try:  # each kind's options are a pydantic model of its own: its messages, our one line
                options(**predictor.options)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                allowed = ", ".join(options.model_fields) or "none"
                tail = f" (kind {kind} takes: {allowed})" if first["type"] == "extra_forbidden" else ""
                raise _broken(f"{key}.options.{where}", first["msg"], first["input"], tail) from None
            score = predictor.options.get("ood_score")
            if score is not None and score not in KINDS[kind].scores:
                raise _broken(
                    f"{key}.options.ood_score", f"should be a score of kind {kind}: {', '.join(KINDS[kind].scores)}",
                    score, _suggest(score, KINDS[kind].scores),
                )  # fmt: skip
            if KINDS[kind].cnns is None:  # it scales another predictor
                if predictor.models is not None:
                    raise _broken(
                        f"{key}.models",
                        f"should be left out (kind {kind} scales predictor `of`)",
                        predictor.models,
                    )
                earlier = names[:position]
                if predictor.of not in earlier:
                    raise _broken(
                        f"{key}.of",
                        "should name a predictor defined before it",
                        predictor.of,
                        _suggest(predictor.of, earlier),
                    )
                if KINDS[self.predictors[predictor.of].kind].cnns is None:
                    raise _broken(
                        f"{key}.of",
                        f"should not be a {self.predictors[predictor.of].kind} predictor",
                        predictor.of,
                    )
                continue
            if predictor.of is not None:
                raise _broken(f"{key}.of", f"should be left out (kind {kind} takes models)", predictor.of)
            fewest = KINDS[kind].fewest_models
            if predictor.models is None or len(predictor.models) < fewest:
                raise _broken(
                    f"{key}.models",
                    f"should list at least {fewest} of train.models for kind {kind}",
                    predictor.models,
                )
            if len(set(predictor.models)) != len(predictor.models):
                raise _broken(f"{key}.models", "should not repeat a model", predictor.models)
            dropout = KINDS[kind].cnns == "dropout"
            for index, model in enumerate(predictor.models):
                if model not in models:
                    raise _broken(
                        f"{key}.models[{index}]", "should be in train.models", model, _suggest(model, models)
                    )
                rate, stochastic = models[model].dropout_rate, models[model].stochastic
                if not dropout and stochastic and model in self.infer.also_without_dropout:
                    continue  # a dropout CNN also run with dropout off
                if dropout != stochastic:
                    cnn = (
                        "a dropout CNN (dropout_rate > 0, or saved with mc_samples)"
                        if dropout
                        else "a plain CNN (dropout_rate 0) or one listed in infer.also_without_dropout"
                    )
                    raise _broken(
                        f"{key}.models[{index}]",
                        f"should be {cnn} for kind {kind}",
                        model,
                        f" (dropout_rate {rate})",
                    )
            members = predictor.options.get("members")
            if members and len(predictor.models) % members:
                raise _broken(
                    f"{key}.options.members",
                    f"should divide the {len(predictor.models)} models into equal ensembles",
                    members,
                )
        return self

    @model_validator(mode="after")
    def _infer(self) -> Self:
        infer, models = self.infer, self.train.models
        if infer.curve_passes[0] > infer.mc_passes:  # larger t are skipped, but the curve needs a point
            raise _broken(
                "infer.curve_passes[0]",
                f"should be <= infer.mc_passes ({infer.mc_passes})",
                infer.curve_passes[0],
            )
        for key in ("also_without_dropout", "shift_mc_models"):  # both name dropout CNNs
            for index, name in enumerate(getattr(infer, key)):
                if name not in models or not models[name].stochastic:
                    raise _broken(
                        f"infer.{key}[{index}]",
                        "should be a dropout CNN of train.models",
                        name,
                        _suggest(name, models),
                    )
        for name, predictor in self.predictors.items():  # the shift evaluation uses each one's first model
            first = (predictor.models or [None])[0]
            if KINDS[predictor.kind].cnns == "dropout" and first not in infer.shift_mc_models:
                raise _broken(
                    "infer.shift_mc_models",
                    f"should include {first!r} (predictor {name}'s first model)",
                    infer.shift_mc_models,
                )
        return self

    @model_validator(mode="after")
    def _corruptions(self) -> Self:
        corrupt = self.corrupt
        for index, name in enumerate(corrupt.corruptions):
            if name not in CORRUPTIONS:
                raise _broken(
                    f"corrupt.corruptions[{index}]", "should be a corruption of uncertainty.data.corruptions",
                    name, _suggest(name, CORRUPTIONS),
                )  # fmt: skip
        if len(set(corrupt.corruptions)) != len(corrupt.corruptions):
            raise _broken("corrupt.corruptions", "should name each corruption once", corrupt.corruptions)
        for index, severity in enumerate(corrupt.verdict_severities):
            if severity not in corrupt.severities:
                raise _broken(
                    f"corrupt.verdict_severities[{index}]", f"should be one of corrupt.severities {corrupt.severities}",
                    severity,
                )  # fmt: skip
        if (
            corrupt.conformal_alpha not in self.conformal.alphas
            or corrupt.conformal_score not in self.conformal.scores
        ):
            raise _broken(
                "corrupt.conformal_alpha",
                f"with corrupt.conformal_score should be one of conformal.alphas {self.conformal.alphas} and "
                f"conformal.scores {self.conformal.scores}",
                (corrupt.conformal_score, corrupt.conformal_alpha),
            )
        return self

    @model_validator(mode="after")
    def _comparisons(self) -> Self:
        for index, pair in enumerate(self.verdicts.comparisons):
            for side, name in enumerate(pair):
                if name not in self.predictors:
                    raise _broken(
                        f"verdicts.comparisons[{index}][{side}]",
                        "should be a predictor of predictors",
                        name,
                        _suggest(name, self.predictors),
                    )
            if pair[0] == pair[1]:
                raise _broken(f"verdicts.comparisons[{index}]", "should name two different predictors", pair)
        return self

    @model_validator(mode="after")
    def _counts_fit_the_data(self) -> Self:
        """Counts and indices against the number of images there really are, not only against other params
        (the default data's counts are known here; another source's limits are checked by prepare)."""
        known = self.prepare.source == "fashion_mnist"
        if known:
            for split, available in (("train", TRAIN_IMAGES), ("test", TEST_IMAGES)):
                limit = getattr(self.prepare, f"{split}_limit")
                if limit > available:
                    raise _broken(
                        f"prepare.{split}_limit",
                        f"should be 0 (all) or at most {available:,} (the Fashion-MNIST {split} images)",
                        limit,
                    )
        test_images = self.prepare.test_limit or (TEST_IMAGES if known else 0)
        if not test_images:
            return self
        size, index = self.mc_batch.batch_size, self.mc_batch.batch_index
        batches = test_images // size  # full batches only: the figures index every position
        if batches == 0:
            raise _broken(
                "prepare.test_limit",
                f"should be 0 or >= {size} (mc_batch needs one full batch of mc_batch.batch_size test images)",
                test_images,
            )
        if index >= batches:
            short = (
                f"; batch {batches} would have only {test_images % size} images" if test_images % size else ""
            )
            raise _broken(
                "mc_batch.batch_index",
                f"should be < {batches} ({test_images:,} test images make {batches} full batches of {size}{short})",
                index,
            )
        if self.shift.test_limit > test_images:
            raise _broken(
                "shift.test_limit",
                f"should be 0 (all) or at most {test_images:,} (the test images prepare keeps)",
                self.shift.test_limit,
            )
        if self.corrupt.test_limit > test_images:
            raise _broken(
                "corrupt.test_limit",
                f"should be at most {test_images:,} (the test images prepare keeps)",
                self.corrupt.test_limit,
            )
        return self

    @model_validator(mode="after")
    def _files_exist(self) -> Self:
        """The user's data file or folder, imported models and builder, looked at without running them
        (prepare and train do that)."""
        if self.prepare.source == "npz":
            if not self.prepare.file:
                raise _broken("prepare.file", "should name your .npz file (prepare.source is npz)", "")
            if not Path(self.prepare.file).is_file():
                raise _broken("prepare.file", "should be an existing .npz file", self.prepare.file)
        if self.prepare.source == "folders":
            if not self.prepare.dir:
                raise _broken(
                    "prepare.dir", "should name your images' folder (prepare.source is folders)", ""
                )
            if not Path(self.prepare.dir).is_dir():
                raise _broken(
                    "prepare.dir",
                    "should be an existing folder with train/<class>/ and test/<class>/",
                    self.prepare.dir,
                )
        saved, models = self.train.saved, self.train.models
        if self.prepare.source == "predictions":
            if not Path(self.prepare.file).is_file():
                raise _broken(
                    "prepare.file", "should be an existing predictions .npz (prepare.source is predictions)",
                    self.prepare.file,
                )  # fmt: skip
            for name, spec in models.items():
                if spec.saved is None:
                    where = (
                        f"train.imported.{name}" if name in self.train.imported else f"train.models.{name}"
                    )
                    raise _broken(
                        where, "should be left out: saved predictions have no images to train or run a model on "
                        "(train.saved lists their trainings)", name,
                    )  # fmt: skip
            for key in ("train_limit", "test_limit", "ood_limit"):
                if getattr(self.prepare, key):
                    raise _broken(
                        f"prepare.{key}",
                        "should be 0: saved predictions are used whole",
                        getattr(self.prepare, key),
                    )
        elif saved:
            raise _broken(
                "train.saved", "should be empty unless prepare.source is predictions (the file holds their labels)",
                list(saved),
            )  # fmt: skip
        for name, entry in saved.items():
            if models[name].saved != entry.file:
                raise _broken(f"train.saved.{name}", "should not reuse a name of train.models", name)
            if not Path(entry.file).is_file():
                raise _broken(
                    f"train.saved.{name}.file", "should be an existing .npz file in inputs/", entry.file
                )
        trained = {
            name: spec
            for name, spec in models.items()
            if name not in self.train.imported and name not in saved
        }
        if not self.train.models:
            raise _broken("train.models", "should define a model (or train.imported or train.saved one)", {})
        for name, spec in trained.items():
            if spec.file:
                raise _broken(
                    f"train.models.{name}.file", "should be left out: a model trained elsewhere goes in train.imported",
                    spec.file,
                )  # fmt: skip
        for name, imported in self.train.imported.items():
            if self.train.models[name].file != imported.file:
                raise _broken(f"train.imported.{name}", "should not reuse a name of train.models", name)
            if not Path(imported.file).is_file():
                raise _broken(
                    f"train.imported.{name}.file",
                    "should be an existing .keras file in inputs/",
                    imported.file,
                )
        builder = self.train.builder
        path = Path(builder.file)
        if not path.is_file():
            raise _broken(
                "train.builder.file", "should be an existing .py file of the repository", builder.file
            )
        try:
            tree = ast.parse(path.read_text(), str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError) as error:
            raise _broken(
                "train.builder.file", f"should be valid Python ({one_line(error)})", builder.file
            ) from None
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        } | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        if builder.function not in defined:
            raise _broken(
                "train.builder.function",
                f"should be a function defined in {builder.file}",
                builder.function,
                _suggest(builder.function, defined),
            )
        return self


def _bare(node: Any) -> Any:
    """The type under Annotated[...] and `X | None`."""
    while get_origin(node) in (Annotated, Union, types.UnionType):
        node = next(arg for arg in get_args(node) if arg is not type(None))
    return node


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping at `loc`, following the schema (a list item, a mapping's value)."""
    node: Any = CheckedParams
    for part in loc:
        is_model = isinstance(node, type) and issubclass(node, BaseModel)
        node = _bare(node.model_fields[part].annotation if is_model else get_args(node)[-1])
    return list(node.model_fields)


def _line(error: Mapping[str, Any]) -> str:
    """One pydantic error as `params.yaml: <key>: <msg>, got <value><hint>`."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == RULE:
        key, value, tail = ctx["key"], ctx["value"], ctx["tail"]
    else:
        loc, value, tail = error["loc"], error["input"], ""
        key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
        key = key.replace(".[key]", " (the name)") or "top level"
        if kind == "extra_forbidden":
            valid = _keys_at(loc[:-1])
            tail = _suggest(loc[-1], valid) or f" (valid keys: {', '.join(valid)})"
        elif kind == "literal_error" and isinstance(value, str):
            tail = _suggest(value, re.findall(r"'([^']*)'", ctx["expected"]))
    shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
    got = "" if kind == "missing" else f", got {shown}"  # a missing key's input is its whole section
    return f"params.yaml: {key}: {error['msg']}{got}{tail}"


def validate(params: Any) -> CheckedParams:
    """The whole params mapping as the typed, fully checked `CheckedParams`, or one PipelineError line."""
    try:
        return CheckedParams.model_validate(params)
    except ValidationError as error:
        raise PipelineError(_line(error.errors(include_url=False)[0])) from None


def load_params(path: str | Path = PARAMS_FILE) -> CheckedParams:
    """Read and check params.yaml; every problem becomes one PipelineError line."""
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
        raise PipelineError(
            f"{path}: malformed YAML{where}: {getattr(error, 'problem', None) or 'invalid YAML'}"
        ) from None
    if not isinstance(params, Mapping):
        raise PipelineError(f"{path}: must be a mapping of sections, got {type(params).__name__}")
    return validate(params)
