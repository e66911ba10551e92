"""Fashion-MNIST: located, verified and turned into model input.

Fashion-MNIST is read straight from the four original IDX files (gzip), never
through a loader that trusts them: every file is checked against the SHA-256 of
its *decompressed* bytes (the .gz bytes differ between mirrors, the content does
not), its IDX header and its length, so a truncated download or a wrong copy
stops the pipeline with one line naming the file and the fix instead of
training on garbage.

Where the files come from (`locate_fashion_mnist`): `prepare.source_dir` from
params.yaml if set, else the Debian package `dataset-fashion-mnist`, else the
Keras download cache (downloading into it if needed).

Out-of-distribution and shifted inputs live in `ood_inputs.py`; the toy line of
the regression experiment in `regressors.py`.

Shapes: images are uint8 (N, 28, 28) as stored; model input is float32
(N, 28, 28, 1) in [0, 1]; labels are uint8 (N,) with values 0..9.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from uncertainty.core.errors import PipelineError, one_line

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SIZE = 28  # pixels per side, as the IDX headers must say
NUM_CLASSES = len(CLASS_NAMES)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

# split-part -> (file name, SHA-256 of the gunzipped file, IDX kind, number of items).
FASHION_MNIST_FILES: dict[str, tuple[str, str, str, int]] = {
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "images",
        60000,
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "labels",
        60000,
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "images",
        10000,
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "labels",
        10000,
    ),
}

# The arrays load_fashion_mnist returns, keyed by the FASHION_MNIST_FILES entry they come from.
_ARRAY_NAMES = {
    "train_images": "x_train",
    "train_labels": "y_train",
    "test_images": "x_test",
    "test_labels": "y_test",
}

# IDX magic numbers: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
_IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}
_IDX_NDIM = {"images": 3, "labels": 1}

_FIX = (
    "reinstall with `sudo apt-get install --reinstall dataset-fashion-mnist` or point "
    "prepare.source_dir in params.yaml at a directory with the four original files"
)
_INSTALL = (
    "install it with `sudo apt-get install dataset-fashion-mnist` or set prepare.source_dir "
    "in params.yaml to a directory with the four original .gz files"
)

# Where keras.datasets.fashion_mnist.load_data downloads from (Keras 3.15); only used to ask
# keras.utils.get_file for the cached path, which it returns without downloading when present.
_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_KERAS_CACHE_SUBDIR = "datasets/fashion-mnist"


def read_idx_gz(path: str | Path, sha256: str | None, kind: str, count: int | None) -> np.ndarray:
    """Read and verify one gzipped IDX file of unsigned bytes.

    Args:
        path: the .gz file.
        sha256: expected hex SHA-256 of the decompressed bytes, or None to skip the check.
        kind: "images" (IDX3, each item 28x28) or "labels" (IDX1).
        count: expected number of items, or None to accept any.

    Returns:
        uint8 array, (n, 28, 28) for images or (n,) for labels; writable.

    Raises:
        PipelineError: missing file, unreadable gzip, checksum, header or length mismatch.
        ValueError: unknown `kind` (a caller bug, not a data problem).
    """
    if kind not in _IDX_MAGIC:
        raise ValueError(f"kind must be 'images' or 'labels', got {kind!r}")
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found; {_FIX}")
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
        raise PipelineError(
            f"{path}: not a complete gzip file ({one_line(error)}); it is truncated or corrupt, {_FIX}"
        ) from None

    if sha256 is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != sha256.lower():
            raise PipelineError(
                f"{path}: SHA-256 of the decompressed content is {got[:16]}..., expected "
                f"{sha256[:16]}... (not the original Fashion-MNIST file); {_FIX}"
            )

    ndim = _IDX_NDIM[kind]
    header_len = 4 + 4 * ndim
    # Magic first (when there are 4 bytes for it): a file of the wrong kind is the likelier
    # mistake, and says more than "header too short".
    magic = int.from_bytes(raw[0:4], "big") if len(raw) >= 4 else None
    if magic is not None and magic != _IDX_MAGIC[kind]:
        raise PipelineError(
            f"{path}: IDX magic number is 0x{magic:08x}, expected 0x{_IDX_MAGIC[kind]:08x} for {kind}; {_FIX}"
        )
    if len(raw) < header_len:
        raise PipelineError(
            f"{path}: {len(raw)} bytes after gunzip, shorter than the {header_len}-byte header "
            f"of an IDX {kind} file; {_FIX}"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if kind == "images" and dims[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise PipelineError(
            f"{path}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SIZE}x{IMAGE_SIZE}; {_FIX}"
        )
    n = dims[0]
    if count is not None and n != count:
        raise PipelineError(f"{path}: header says {n} {kind}, expected {count}; {_FIX}")
    expected_len = header_len + int(np.prod(dims))
    if len(raw) != expected_len:
        raise PipelineError(
            f"{path}: {len(raw)} bytes after gunzip, but the header ({n} {kind}) implies "
            f"{expected_len}; {_FIX}"
        )
    # frombuffer on bytes is read-only; copy so callers may modify the array in place.
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def _has_all_files(directory: Path, files: dict[str, tuple[str, str, str, int]]) -> bool:
    return all((directory / name).is_file() for name, _, _, _ in files.values())


def locate_fashion_mnist(source_dir: str | None) -> Path:
    """The directory holding the four Fashion-MNIST .gz files.

    Order: `source_dir` (params.yaml `prepare.source_dir`) if non-empty, else DEBIAN_DIR if
    it has all four files, else the Keras cache, `keras.datasets.fashion_mnist.load_data()`
    downloading into it when it is empty ($KERAS_HOME or ~/.keras, /tmp/.keras if that is
    not writable, + datasets/fashion-mnist). The files are not verified here; that is
    load_fashion_mnist's job.

    Raises:
        PipelineError: `source_dir` missing or not a directory, or no copy anywhere.
    """
    if source_dir:
        directory = Path(source_dir).expanduser()
        if not directory.is_dir():
            what = "is not a directory" if directory.exists() else "does not exist"
            raise PipelineError(
                f"params.yaml prepare.source_dir: {directory} {what}; set it to a directory with the "
                "four Fashion-MNIST .gz files, or to an empty string to use the Debian package"
            )
        return directory

    if _has_all_files(DEBIAN_DIR, FASHION_MNIST_FILES):
        return DEBIAN_DIR

    # Imported here, not at module level: importing keras loads TensorFlow, which takes seconds
    # that the Debian and source_dir paths (and the tests) should not pay.
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
        labels_name = FASHION_MNIST_FILES["train_labels"][0]
        cached = keras.utils.get_file(
            labels_name, origin=_KERAS_ORIGIN + labels_name, cache_subdir=_KERAS_CACHE_SUBDIR
        )
    # Keras' get_file raises a bare Exception for network failures (and load_data may raise
    # EOFError/OSError on a half-written cache), so nothing narrower catches them all.
    except Exception as error:
        raise PipelineError(
            f"Fashion-MNIST: no copy found (prepare.source_dir not set, {DEBIAN_DIR} lacks the four "
            f"files, Keras download failed: {one_line(error)}); {_INSTALL}"
        ) from None
    directory = Path(cached).parent
    if not _has_all_files(directory, FASHION_MNIST_FILES):
        raise PipelineError(
            f"{directory}: Keras cache lacks some of the four Fashion-MNIST files; delete the "
            f"directory and rerun, or {_INSTALL}"
        )
    return directory


def load_fashion_mnist(
    directory: str | Path, files: dict[str, tuple[str, str, str, int]] = FASHION_MNIST_FILES
) -> dict[str, np.ndarray]:
    """Load and verify Fashion-MNIST from `directory`.

    Returns:
        {"x_train": uint8 (60000, 28, 28), "y_train": uint8 (60000,),
         "x_test": uint8 (10000, 28, 28), "y_test": uint8 (10000,)}
        (counts as given in `files`).

    Raises:
        PipelineError: any file missing or failing read_idx_gz's checks, labels outside
            0..9, or an images file and its labels file disagreeing on the count.
    """
    directory = Path(directory)
    missing_keys = sorted(set(_ARRAY_NAMES) - set(files))
    if missing_keys:
        raise ValueError(f"files must have entries {sorted(_ARRAY_NAMES)}, missing {missing_keys}")
    arrays: dict[str, np.ndarray] = {}
    for key, array_name in _ARRAY_NAMES.items():
        name, sha256, kind, count = files[key]
        arrays[array_name] = read_idx_gz(directory / name, sha256, kind, count)
        if kind == "labels" and arrays[array_name].size and arrays[array_name].max() >= NUM_CLASSES:
            raise PipelineError(
                f"{directory / name}: label {int(arrays[array_name].max())} found, expected 0..{NUM_CLASSES - 1}; "
                f"{_FIX}"
            )
    for split in ("train", "test"):
        # Only reachable with count=None entries, where nothing else ties the two files together.
        n_images, n_labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_images != n_labels:
            raise PipelineError(
                f"{directory / files[f'{split}_images'][0]}: {n_images} images but "
                f"{files[f'{split}_labels'][0]} has {n_labels} labels, expected equal counts; {_FIX}"
            )
    return arrays
