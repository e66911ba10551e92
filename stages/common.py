"""What every stage shares: quiet TensorFlow logs, params, one-line errors, and the stage log.

With UNCERTAINTY_STAGE_LOG set to a file (`make report` and `make run` set it), every stage that
completes appends one JSON line to it: the stage (its module and positional arguments), its wall
seconds since the process started and its peak resident memory, what `make bench`'s stage table reads.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Before TensorFlow is imported anywhere: keep its C++ start-up chatter out of the logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from uncertainty.core.errors import PipelineError
from uncertainty.core.io import save_npz, write_json
from uncertainty.core.params import read_params


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
    log = os.environ.get("UNCERTAINTY_STAGE_LOG")
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as file:
            file.write(json.dumps(stage_record()) + "\n")


_IMPORTED = time.monotonic()


def stage_record() -> dict[str, Any]:
    """This stage's line of the stage log: which stage, wall seconds, peak resident memory (MB)."""
    positional = []
    for argument in sys.argv[1:]:
        if argument.startswith("-"):
            break
        positional.append(argument)
    peak_kb = max(
        resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return {
        "stage": " ".join([Path(sys.argv[0]).stem, *positional]),  # python -m stages.<name>: its file
        "seconds": round(process_seconds(), 2),
        "max_rss_mb": round(peak_kb / 1024, 1),  # Linux reports kilobytes
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def process_seconds() -> float:
    """Wall seconds since this process started (Linux's /proc: imports included), else since this module
    was imported."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def skipped(reason: str | None, metrics: Any, output: Any, stage: str) -> bool:
    """An article-only stage on another run: its metrics say why it was skipped (`skipped`) and its data
    file holds the reason alone, so DVC has its outputs and the figures and report leave it out."""
    if reason is None:
        return False
    write_json(metrics, {"skipped": f"the article's experiment only: {reason}"})
    save_npz(output, {"skipped": np.asarray(reason)})
    print(f"{stage}: skipped, {reason}")
    return True
