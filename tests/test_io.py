"""Outputs: byte-stable, atomic, and loaded without pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from uncertainty.core.errors import PipelineError
from uncertainty.core.io import json_bytes, load_npz, npz_bytes, read_json, save_npz, write_json


def test_npz_bytes_depend_only_on_the_arrays() -> None:
    arrays = {"b": np.arange(3), "a": np.ones((2, 2), np.float32)}
    assert npz_bytes(arrays) == npz_bytes(dict(reversed(list(arrays.items()))))
    assert npz_bytes(arrays) != npz_bytes({**arrays, "a": np.zeros((2, 2), np.float32)})


def test_save_and_load_round_trip_without_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    save_npz(path, {"a": np.arange(5)})
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
    np.testing.assert_array_equal(load_npz(path, keys=("a",))["a"], np.arange(5))


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([{"code": "runs on load"}], dtype=object))
    with pytest.raises(PipelineError, match="not a readable .npz"):
        load_npz(path)


def test_missing_and_corrupt_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="file not found"):
        load_npz(tmp_path / "absent.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(PipelineError, match="bad.npz: not a readable"):
        load_npz(tmp_path / "bad.npz")
    save_npz(tmp_path / "partial.npz", {"a": np.arange(2)})
    with pytest.raises(PipelineError, match=r"missing arrays \['b'\]"):
        load_npz(tmp_path / "partial.npz", keys=("a", "b"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PipelineError, match="invalid JSON"):
        read_json(tmp_path / "bad.json")


def test_json_is_sorted_rounded_and_finite(tmp_path: Path) -> None:
    text = json_bytes(
        {"b": np.float32(0.1234567891), "a": {"z": np.int64(3), "y": [1.0000001, True]}}
    ).decode()
    assert text.index('"a"') < text.index('"b"') and text.index('"y"') < text.index('"z"')
    assert json.loads(text) == {"a": {"y": [1.0, True], "z": 3}, "b": 0.123457}
    with pytest.raises(ValueError, match="non-finite"):
        write_json(tmp_path / "m.json", {"nll": float("nan")})
    assert not (tmp_path / "m.json").exists()
