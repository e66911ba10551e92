"""Stage: the test set corrupted, every corruption at every severity (MNIST-C's fifteen, five severities).

    python -m stages.corrupt --data data/dataset.npz --output data/corrupted.npz

The first corrupt.test_limit test images, each through every corruption of corrupt.corruptions at
every severity of corrupt.severities (uncertainty.data.corruptions: numpy and scipy, tested). Each
(corruption, severity) draws from its own generator seeded [corrupt.seed, corruption's index in
CORRUPTIONS, severity], so adding or dropping one corruption changes no other's images. Written once
for every CNN (the inference stage reads it), as uint8 like the test set itself:

* `images` uint8 (C * S, n, H, W[, C]) as the test images are stored, corruption-major: row c * S + s is corruption c at severity s;
* `corruption` (C * S,) the corruption names, `severity` (C * S,) the severities;
* `clean` (n, H, W[, C]), the same images uncorrupted (the figures).

Also the machine record: the CPU and the seconds per corruption (the cost table).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import load_npz, save_npz, write_json
from uncertainty.core.machine import machine_info
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.data.corruptions import CORRUPTIONS, corrupt
from uncertainty.data.images import to_model_input

SECTIONS = {"corrupt": Corrupt}  # the params.yaml sections it reads


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.corrupt
    data = load_npz(paths.data)
    # Saved predictions: no images (their own corrupted outputs, if any, are read as saved).
    if "x_test" not in data:
        save_npz(paths.output, {"skipped": np.asarray("saved predictions: no images to corrupt")})
        write_json(paths.machine, {"machine": machine_info(), "seconds": {}})
        print("corrupt: skipped, saved predictions have no images")
        return
    pixels = data["x_test"][: p.test_limit]  # (n, H, W[, C]) as stored
    clean = to_model_input(pixels)  # float32 (n, H, W, C)
    order = list(CORRUPTIONS)
    images, names, severities, seconds = [], [], [], {}
    for name in p.corruptions:
        started = time.perf_counter()
        for severity in p.severities:
            rng = np.random.default_rng([p.seed, order.index(name), severity])
            corrupted = corrupt(clean, name, severity, rng).reshape(pixels.shape)  # float32 in [0, 1]
            images.append(
                np.rint(corrupted * 255.0).astype(np.uint8) if pixels.dtype == np.uint8 else corrupted
            )
            names.append(name)
            severities.append(severity)
        seconds[name] = time.perf_counter() - started
    save_npz(
        paths.output,
        {
            "images": np.stack(images),
            "corruption": np.asarray(names),
            "severity": np.asarray(severities),
            "clean": pixels,
        },
    )
    write_json(paths.machine, {"machine": machine_info(), "seconds": seconds})
    print(
        f"corrupt: {len(clean)} test images x {len(p.corruptions)} corruptions x {len(p.severities)} severities "
        f"in {sum(seconds.values()):.1f} s -> {paths.output}"
    )


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "data": "the data's arrays (prepare_data stage)",
                "output": "the corrupted test images, corruption and severity per row, .npz",
                "machine": "the CPU and the seconds per corruption, JSON",
            },
        ),
    )
