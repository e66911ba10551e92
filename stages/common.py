"""What every stage shares: quiet TensorFlow logs, params, and one-line errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

# Before TensorFlow is imported anywhere: keep its C++ start-up chatter out of the logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from uncertainty.errors import PipelineError
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
