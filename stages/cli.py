"""A stage's input and output paths, from its command line: dvc.yaml defines each path once and passes it.

Apart from stages.common so that the figure stages and check_params depend on nothing more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_paths(
    doc: str | None, paths: dict[str, str], positional: dict[str, str] | None = None
) -> argparse.Namespace:
    """The stage's input and output paths, from its command line: dvc.yaml is their one source.

    `paths` maps each option name (`--eval-metrics` -> `eval_metrics`) to its help text; every
    option is required and has no default. `positional` adds plain arguments (a model name).
    A usage error is argparse's: the usage, one line, exit 2.
    """
    spec = getattr(sys.modules["__main__"], "__spec__", None)  # `python -m stages.x`: name the module
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None,
        description=doc.strip().splitlines()[0] if doc else None,
    )
    for name, text in (positional or {}).items():
        parser.add_argument(name, help=text)
    for name, text in paths.items():
        parser.add_argument(f"--{name}", required=True, type=Path, metavar="PATH", help=text)
    return parser.parse_args()
