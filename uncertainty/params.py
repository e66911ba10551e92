"""Reading params.yaml in a stage, after the check_params stage has validated it.

Every stage in dvc.yaml depends on data/params_ok.txt, which check_params
writes only when the whole file passes `uncertainty.config`, so a stage reads
the file without validating it again. That keeps the schema out of every
stage's dependencies: editing a validation message never retrains a CNN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from uncertainty.errors import PipelineError

PARAMS_FILE = Path("params.yaml")


def read_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The params mapping; a missing or unreadable file is one PipelineError line (run check_params)."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run from the project root") from None
    except yaml.YAMLError:
        raise PipelineError(f"{path}: malformed YAML; `dvc repro check_params` says where") from None
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: must be a mapping of sections; run `dvc repro check_params`")
    return params
