"""The machine a result was computed on: CPU model, the ISA flags that decide float kernels, threads.

TensorFlow's oneDNN kernels pick their summation order from the CPU's vector
extensions (AVX2, AVX-512, AVX-512 BF16, AMX), so two machines with the same
code, params and seeds round differently from the first training step on. The
outputs record which machine produced them (see README, "Reproducibility").
Reads /proc/cpuinfo only: no TensorFlow import, so any stage can call it cheaply.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

# The flags that change which float kernels run (the rest of /proc/cpuinfo's list does not matter here).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def _cpuinfo(path: Path = Path("/proc/cpuinfo")) -> tuple[str, set[str]]:
    """(model name, flags) of the first processor listed; ("", set()) where there is no /proc."""
    try:
        text = path.read_text()
    except OSError:
        return "", set()
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, flags


# The distribution that carries each backend's kernels, whose version the record names.
BACKEND_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "jax": ("jaxlib",),
    "torch": ("torch",),
}


def keras_backend() -> str:
    """The backend Keras runs on in this process: the imported Keras' own answer, else Keras' order of
    lookup (KERAS_BACKEND, then keras.json under KERAS_HOME or ~/.keras, then tensorflow), without importing it."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return str(keras.backend.backend())
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return str(json.loads(config.read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError):
        return "tensorflow"


def backend_version(backend: str) -> str:
    for distribution in BACKEND_DISTRIBUTIONS.get(backend, (backend,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, object]:
    """CPU model, which of ISA_FLAGS it has, the AVX-512/AMX flag list, the usable thread count, and Keras'
    backend with its version."""
    model, flags = _cpuinfo(cpuinfo)
    backend = keras_backend()
    try:
        threads = len(os.sched_getaffinity(0))  # what TensorFlow's default thread pools size themselves to
    except AttributeError:  # not Linux
        threads = os.cpu_count() or 1
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "architecture": platform.machine(),
        "isa": {flag: flag in flags for flag in ISA_FLAGS},
        "isa_flags": " ".join(sorted(f for f in flags if f.startswith(("avx512", "amx")))) or "none",
        "threads": threads,
        "keras_backend": f"{backend} {backend_version(backend)}",
    }
