"""Stage 0: validate the whole params.yaml before any other stage runs.

Every other stage depends on this stage's output, and DVC runs it first
whenever params.yaml changes. Its output's content never changes while the
params stay valid, so a valid edit re-runs only the stages whose own params
changed, and an invalid edit stops `dvc repro` here, before DVC deletes any
other stage's outputs.
"""

from __future__ import annotations

import sys

from stages.cli import parse_paths
from uncertainty.config import load_params
from uncertainty.core.errors import PipelineError
from uncertainty.core.io import write_text


def main() -> None:
    paths = parse_paths(__doc__, {"ok": "written only when params.yaml is valid (every stage depends on it)"})
    try:
        load_params()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    write_text(paths.ok, "params.yaml is valid\n")


if __name__ == "__main__":
    main()
