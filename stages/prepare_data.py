"""Stage: the data a source gives (prepare.source, uncertainty.data.sources), checked, into the files later stages read.

Saved predictions (prepare.source predictions) have no images: their labels go to data/dataset.npz, their
description (sets, trainings, what the keys leave out) to data/dataset.json, and the saved stage reads the rest.

Writes data/dataset.npz (x_train, y_train, x_test, y_test, as the source gives them: training reads
only this), data/ood.npz (the source's real OOD sets, ood_<name>) and data/dataset.json (the name,
class names, image shape and OOD sets' words, for every stage after it). Every array is checked
before anything is written; Fashion-MNIST's files are also checksummed (uncertainty.data.fashion_mnist).
"""

from __future__ import annotations

import argparse
from typing import Any

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.errors import PipelineError
from uncertainty.core.io import save_npz
from uncertainty.core.schema.prepare import Prepare
from uncertainty.data.contract import Dataset, OodSet, check, image_shape, source
from uncertainty.data.dataset_info import write_info
from uncertainty.data.predictions import check as check_saved
from uncertainty.data.predictions import description as describe_saved
from uncertainty.data.predictions import read as read_saved

SECTIONS = {"prepare": Prepare}  # the params.yaml sections it reads


def limited(data: Dataset, p: Prepare) -> Dataset:
    """The first images of each split and OOD set, so a tiny run sees a prefix of the real data."""
    arrays = dict(data.arrays)
    for split, limit in (("train", p.train_limit), ("test", p.test_limit)):
        available = len(arrays[f"x_{split}"])
        if limit > available:
            raise PipelineError(
                f"params.yaml: prepare.{split}_limit: should be 0 (all) or at most {available:,} "
                f"(the {split} images of {data.name}), got {limit}"
            )
        if limit:
            arrays[f"x_{split}"], arrays[f"y_{split}"] = (
                arrays[f"x_{split}"][:limit],
                arrays[f"y_{split}"][:limit],
            )
    ood = {name: OodSet(s.images[: p.ood_limit or None], s.label, s.words) for name, s in data.ood.items()}
    return Dataset(data.name, arrays, data.class_names, ood)


def saved_predictions(p: Prepare, paths: argparse.Namespace) -> None:
    """Saved outputs (uncertainty.data.predictions), checked: their labels and description, no images."""
    saved = check_saved(read_saved(p.file), p.file)
    save_npz(paths.data, {f"y_{split}": labels for split, labels in saved.labels.items()})
    save_npz(paths.ood, {})
    words = {
        name: {"label": name.replace("_", " "), "words": f"{name.replace('_', ' ')} inputs"}
        for name in saved.ood
    }
    write_info(paths.info, saved.name, p.source, saved.class_names, (), words, describe_saved(saved))
    print(
        f"prepare: {p.file}: {len(saved.training_names)} trainings, {len(saved.labels['test'])} test outputs, "
        f"{len(saved.class_names)} classes, OOD {', '.join(saved.ood)} -> {paths.info}"
    )


def main(params: Any, paths: argparse.Namespace) -> None:
    p = params.prepare
    if p.source == "predictions":
        saved_predictions(p, paths)
        return
    loaded = source(p.source).load(p)
    where = {"npz": p.file, "folders": p.dir}.get(p.source, f"{loaded.name} ({p.source})")
    # Checked whole, then as limited: a prefix must still hold every class.
    data = check(limited(check(loaded, where), p), where)
    save_npz(paths.data, data.arrays)
    save_npz(paths.ood, {f"ood_{name}": s.images for name, s in data.ood.items()})
    ood_words = {name: {"label": s.label, "words": s.words} for name, s in data.ood.items()}
    write_info(
        paths.info, data.name, p.source, data.class_names, image_shape(data.arrays["x_train"]), ood_words
    )
    print(
        f"prepare: {data.name}: {len(data.arrays['x_train'])} train / {len(data.arrays['x_test'])} test images, "
        f"{len(data.class_names)} classes, OOD {', '.join(data.ood) or 'noise only'} -> {paths.data}"
    )


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "data": "the checked arrays x_train, y_train, x_test, y_test",
                "ood": "the source's real OOD sets, ood_<name>",
                "info": "name, class names, image shape and OOD sets, JSON",
            },
        ),
    )
