"""Reading params.yaml in a stage, after the check_params stage has validated it.

Every stage in dvc.yaml depends on data/params_ok.txt, which check_params
writes only when the whole file passes `uncertainty.config`, so a stage reads
just the sections it uses, each into its typed model (uncertainty.core.schema.<section>),
and never runs the cross-key rules again. A stage thus depends on the schema of
its own sections only: a new conformal option or a reworded description never
retrains a CNN.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from uncertainty.core.errors import PipelineError

PARAMS_FILE = Path("params.yaml")


def read_raw(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """params.yaml as a mapping; a missing or unreadable file is one PipelineError line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run from the project root") from None
    except yaml.YAMLError:
        raise PipelineError(f"{path}: malformed YAML; `dvc repro check_params` says where") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: invalid; `dvc repro check_params` says what is wrong")
    return raw


def read_params(sections: dict[str, Any], path: str | Path = PARAMS_FILE) -> SimpleNamespace:
    """The typed sections `{key: type}` of params.yaml as attributes (`params.train`, ...).

    A type is a section model or a type such as `dict[Name, Predictor]`; an invalid section is
    one PipelineError line (check_params says what is wrong).
    """
    raw = read_raw(path)
    typed = {}
    for key, kind in sections.items():
        try:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                typed[key] = kind.model_validate(raw.get(key))
            else:
                typed[key] = TypeAdapter(kind).validate_python(raw.get(key), strict=True)
        except ValidationError:
            raise PipelineError(
                f"{path}: section {key!r} invalid; `dvc repro check_params` says what is wrong"
            ) from None
    return SimpleNamespace(**typed)
