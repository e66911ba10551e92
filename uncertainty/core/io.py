"""Writing outputs so that the same content gives the same bytes, never half-written.

Every writer goes through `atomic_write`: the bytes land in a temporary file in
the destination's directory and are renamed into place, so a crash (even
SIGKILL) leaves either the old file or the new one, never a truncated file that
a later stage would accept.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

# A fixed timestamp for zip members: numpy's own savez stamps the current time,
# which gives a new file hash on every run and churns dvc.lock.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _round_floats(value: Any, digits: int) -> Any:
    """Fixed float formatting: round floats, turn numpy scalars into Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round_floats(v, digits) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"refusing to write a non-finite metric: {value}")
        return round(value, digits)
    return value


def json_bytes(obj: Any, digits: int = 6) -> bytes:
    """Canonical JSON: sorted keys, floats rounded to `digits`, trailing newline."""
    text = json.dumps(_round_floats(obj, digits), sort_keys=True, indent=2)
    return (text + "\n").encode()


def write_json(path: str | Path, obj: Any, digits: int = 6) -> None:
    atomic_write(path, json_bytes(obj, digits))


def write_text(path: str | Path, text: str) -> None:
    atomic_write(path, text.encode())


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz archive (readable by `np.load`) whose bytes depend only on the arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    atomic_write(path, npz_bytes(arrays))


def load_npz(path: str | Path, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load every array of an .npz without pickle; check that `keys` are present."""
    from uncertainty.core.errors import PipelineError

    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found; run the stage that produces it (dvc repro)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise PipelineError(
            f"{path}: not a readable .npz archive ({error}); delete it and run dvc repro"
        ) from None
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise PipelineError(f"{path}: missing arrays {missing}; delete it and run dvc repro")
    return arrays


def read_json(path: str | Path) -> Any:
    from uncertainty.core.errors import PipelineError

    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that produces it (dvc repro)") from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path}: invalid JSON ({error})") from None
