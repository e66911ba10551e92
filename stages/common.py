"""What every stage shares: quiet TensorFlow logs, params, and one-line errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

# Before TensorFlow is imported anywhere: keep its C++ start-up chatter out of the logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from uncertainty.errors import PipelineError
from uncertainty.io import save_npz, write_json
from uncertainty.params import read_params


def run(main: Callable[..., None], sections: dict[str, Any], *args: Any) -> None:
    """Run main(params, *args) on the typed `sections` of params.yaml (`{key: type}`, checked by
    check_params, which every stage depends on): a stage reads, and depends on, only those.

    A PipelineError becomes one line on stderr and exit 1.
    """
    try:
        main(read_params(sections), *args)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def skipped(reason: str | None, metrics: Any, output: Any, stage: str) -> bool:
    """An article-only stage on another run: its metrics say why it was skipped (`skipped`) and its data
    file holds the reason alone, so DVC has its outputs and the figures and report leave it out."""
    if reason is None:
        return False
    write_json(metrics, {"skipped": f"the article's experiment only: {reason}"})
    save_npz(output, {"skipped": np.asarray(reason)})
    print(f"{stage}: skipped, {reason}")
    return True
