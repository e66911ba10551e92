"""Stage: verified Fashion-MNIST (article 1.3, docs/article.md) -> data/fashion_mnist.npz (uint8, read by later stages).

Source order: prepare.source_dir, else Debian's /usr/share/datasets/fashion-mnist,
else Keras' own cache/download. Every file is checked (SHA-256 of the
decompressed bytes, IDX header, sizes) before anything is written.
"""

from __future__ import annotations

import argparse
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.fashion_mnist import load_fashion_mnist, locate_fashion_mnist
from uncertainty.io import save_npz
from uncertainty.schema.prepare import Prepare

SECTIONS = {"prepare": Prepare}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.prepare
    directory = locate_fashion_mnist(p.source_dir or None)
    data = load_fashion_mnist(directory)
    # Limits keep the first images, so a tiny run sees a prefix of the real data.
    for split, limit in (("train", p.train_limit), ("test", p.test_limit)):
        if limit:
            data[f"x_{split}"] = data[f"x_{split}"][:limit]
            data[f"y_{split}"] = data[f"y_{split}"][:limit]
    save_npz(paths.output, data)
    print(
        f"prepare: {len(data['x_train'])} train / {len(data['x_test'])} test images from {directory} -> {paths.output}"
    )


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(__doc__, {"output": "the verified arrays x_train, y_train, x_test, y_test (uint8)"}),
    )
