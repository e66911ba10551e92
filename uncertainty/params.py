"""Reading params.yaml in a stage, after the check_params stage has validated it.

Every stage in dvc.yaml depends on data/params_ok.txt, which check_params
writes only when the whole file passes `uncertainty.config`, so a stage reads
the file into the typed `schema.Params` (the sections' own checks only) and
never runs the cross-key rules again. That keeps those rules and their
messages out of every stage's dependencies: editing them never retrains a CNN.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from uncertainty.errors import PipelineError
from uncertainty.schema import Params

PARAMS_FILE = Path("params.yaml")


def read_params(path: str | Path = PARAMS_FILE) -> Params:
    """The typed params; a missing, unreadable or invalid file is one PipelineError line (run check_params)."""
    path = Path(path)
    try:
        return Params.model_validate(yaml.safe_load(path.read_text()))
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run from the project root") from None
    except yaml.YAMLError:
        raise PipelineError(f"{path}: malformed YAML; `dvc repro check_params` says where") from None
    except ValidationError:
        raise PipelineError(f"{path}: invalid; `dvc repro check_params` says what is wrong") from None
