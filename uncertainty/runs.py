"""A run folder for one model trained elsewhere, or for outputs saved by any framework: every method it
allows, nothing trained.

    python -m uncertainty.runs new mine --model inputs/mine.keras --data inputs/mine.npz
    python -m uncertainty.runs new theirs --predictions inputs/theirs.npz     (uncertainty.data.predictions)
    cd runs/mine && dvc repro          (or, from the root: make run RUN=runs/mine)

A predictions file's run keeps every kind its keys allow (its trainings, MC passes, features and last
layer), and the report names what the keys leave out, with the key each would need.

`new` writes runs/<name>/ like runs/mnist: links to the project's dvc.yaml, stages/, uncertainty/,
examples/ and inputs/, and a params.yaml made from the project's with what this model allows:

* the data: `prepare.source: npz` and your file (or `--source mnist` / `fashion_mnist`);
* the model: `train.imported.<name>` (its own file is its stage's dependency), no training;
* the predictors: every kind that takes one model (the softmax, its temperature and other calibrators,
  energy and max logit, the feature-space scores, the three Laplace links) and, when the model has Dropout layers, MC dropout
  and its temperature (the model then also runs once with dropout off: `infer.also_without_dropout`);
  the ensembles need several trainings and are left out, with the comparisons that name them;
* the labels name your model, not the article's "plain CNN".

Why a generated folder rather than registry entries that adapt to whatever models exist: the
params.yaml a run used stays a file in git that says exactly what was judged, `dvc params diff` and
`dvc exp` work on it as on any run, and the project's own params.yaml (the article's) never changes.
The article's own experiments are skipped on such a run (uncertainty.core.article), not failed.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from uncertainty.core.errors import PipelineError
from uncertainty.data.predictions import Saved, check, read
from uncertainty.methods.predictors import KINDS, LOGIT_SCORES

ROOT = Path(__file__).resolve().parents[1]
LINKS = ("dvc.yaml", "stages", "uncertainty", "examples", "inputs")
ONE_MODEL_KINDS = (
    "softmax",
    "feature_density",
    "knn",
    "vim",
    "rmds",
    "laplace",
)  # kinds judging one model's softmax
CALIBRATING_KINDS = tuple(name for name, kind in KINDS.items() if kind.cnns is None)  # they take `of`
ARTICLE_LABEL = "plain CNN"  # the article's name for a single model, in the project's labels


def dropout_rate(file: str) -> float:
    """The largest rate among the .keras model's Dropout-family layers (0: none), read in safe mode."""
    import keras  # only here: writing a run folder otherwise needs no TensorFlow

    from uncertainty.models.classifier import dropout_layers

    try:
        model = keras.saving.load_model(file, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a damaged or foreign file
        raise PipelineError(f"{file}: does not load as a Keras model ({type(error).__name__})") from None
    return max((float(layer.rate) for layer in dropout_layers(model)), default=0.0)


def one_model_params(
    base: dict[str, Any], name: str, model_file: str, rate: float, data: dict[str, Any]
) -> dict[str, Any]:
    """The project's params (`base`) for one imported model: see the module docstring."""
    params = copy.deepcopy(base)
    params["prepare"].update(data)
    params["train"]["models"] = {}
    params["train"]["imported"] = {name: {"file": model_file, "dropout_rate": rate}}
    stochastic = rate > 0
    params["infer"]["shift_mc_models"] = [name] if stochastic else []
    params["infer"]["also_without_dropout"] = [name] if stochastic else []
    kept: dict[str, Any] = {}
    for key, spec in base["predictors"].items():
        kind = spec["kind"]
        if kind in CALIBRATING_KINDS:
            if spec["of"] not in kept:
                continue
            entry = dict(spec)
        elif kind in ONE_MODEL_KINDS or (kind == "mc_dropout" and stochastic):
            entry = {**spec, "models": [name]}
        else:  # an ensemble (several trainings), or MC dropout of a model without Dropout layers
            continue
        entry["label"] = spec["label"].replace(ARTICLE_LABEL, name)
        kept[key] = entry
    params["predictors"] = kept
    verdicts = params["verdicts"]
    verdicts["comparisons"] = [pair for pair in verdicts["comparisons"] if all(p in kept for p in pair)]
    return params


def saved_params(
    base: dict[str, Any], name: str, file: str, saved: Saved, *more: tuple[str, Saved]
) -> dict[str, Any]:
    """The project's params (`base`) for a predictions file, or one file per training (`more`: further
    files and their contents, holding the same keys): every kind the keys allow (see
    uncertainty.data.predictions.not_run for the others, which the report names)."""
    params = copy.deepcopy(base)
    params["prepare"].update(source="predictions", file=file, train_limit=0, test_limit=0, ood_limit=0)
    files = [(file, saved), *more]
    for other, contents in more:
        if _keys(contents) != _keys(saved) or not np.array_equal(
            contents.labels["test"], saved.labels["test"]
        ):
            raise PipelineError(
                f"{other}: its sets, keys or test labels differ from {file}'s; expected one file per training "
                "with the same outputs on the same images"
            )
    entries = {
        training: {"file": path, "training": index, "mc_samples": contents.mc}
        for path, contents in files
        for index, training in enumerate(contents.training_names)
    }
    names = list(entries)
    if len(names) != sum(len(contents.training_names) for _, contents in files):
        raise PipelineError(
            f"{file}: training names repeat across the files; set training_names apart in each"
        )
    params["train"].update(models={}, imported={})
    params["train"]["saved"] = entries
    params["infer"]["shift_mc_models"] = names if saved.mc else []
    params["infer"]["also_without_dropout"] = names if saved.mc and saved.has("probs") else []
    if "rotated" in saved.conditions:
        params["shift"]["angles"] = [int(a) for a in saved.conditions["rotated"]["angles"]]
    if "corrupted" in saved.conditions:
        rows = saved.conditions["corrupted"]
        params["corrupt"]["corruptions"] = list(dict.fromkeys(str(c) for c in rows["corruption"]))
        params["corrupt"]["severities"] = sorted({int(s) for s in rows["severity"]})
        params["corrupt"]["verdict_severities"] = [
            s for s in base["corrupt"]["verdict_severities"] if s in params["corrupt"]["severities"]
        ] or params["corrupt"]["severities"][-1:]
    features = saved.has("features")
    allowed = {
        "softmax": saved.has("probs"), "mc_dropout": saved.mc, "ensemble": saved.has("probs") and len(names) >= 2,
        **{kind: saved.has("probs") and features for kind in ("feature_density", "knn", "vim", "rmds", "laplace")},
    }  # fmt: skip
    kept: dict[str, Any] = {}
    for key, spec in base["predictors"].items():
        kind = spec["kind"]
        if kind in CALIBRATING_KINDS:
            if spec["of"] not in kept:
                continue
            entry = dict(spec)
        elif allowed.get(kind) and not (
            spec.get("options", {}).get("ood_score") in LOGIT_SCORES and not saved.logits
        ):
            entry = {**spec, "models": names}
            if kind == "ensemble":  # two disjoint ensembles where the trainings split evenly, else one
                members = len(names) // 2 if len(names) >= 4 and len(names) % 2 == 0 else len(names)
                entry["options"] = {**spec.get("options", {}), "members": members}
        else:
            continue
        entry["label"] = spec["label"].replace(ARTICLE_LABEL, name)
        kept[key] = entry
    params["predictors"] = kept
    verdicts = params["verdicts"]
    verdicts["comparisons"] = [pair for pair in verdicts["comparisons"] if all(p in kept for p in pair)]
    return params


def _keys(saved: Saved) -> tuple[Any, ...]:
    """What a file holds, apart from its numbers: its sets' arrays, shift conditions and logits."""
    conditions = {k: {c: v.tolist() for c, v in cs.items()} for k, cs in saved.conditions.items()}
    return ({k: sorted(v) for k, v in saved.sets.items()}, conditions, saved.logits, saved.class_names)


def new_saved(name: str, files: list[str], force: bool = False) -> Path:
    """Write runs/<name>/ (links and params.yaml) for predictions .npz files in inputs/ (one, or one per
    training; nothing trained or run)."""
    run = ROOT / "runs" / name
    for file in files:
        _check_input(file, ".npz")
    if (run / "params.yaml").exists() and not force:
        raise PipelineError(f"{run.relative_to(ROOT)}/params.yaml exists; pass --force to write it again")
    (file, saved), *more = [(f, check(read(ROOT / f), f)) for f in files]
    params = saved_params(yaml.safe_load((ROOT / "params.yaml").read_text()), name, file, saved, *more)
    listed = " ".join(files)
    header = (
        f"# Outputs saved elsewhere ({listed}: {len(params['train']['saved'])} trainings), judged by every method they allow.\n"
        f"# Written by `python -m uncertainty.runs new {name} --predictions {listed}` from the project's params.yaml.\n"
        f"#   cd runs/{name} && dvc repro    (or, from the root: make run RUN=runs/{name})\n"
    )
    run = _write(run, header, params)
    # The article's stages depend on the models folder (and skip on this run): it exists, with no model.
    (run / "models").mkdir(exist_ok=True)
    (run / "models" / "README.md").write_text(f"No models here: outputs saved elsewhere ({listed}).\n")
    return run


def _check_input(file: str | None, what: str) -> None:
    if file is not None and (not file.startswith("inputs/") or not file.endswith(what) or "/" in file[7:]):
        raise PipelineError(f"{file}: expected a {what} file directly in inputs/ (inputs/<name>{what})")
    if file is not None and not (ROOT / file).is_file():
        raise PipelineError(f"{file}: no such file; copy it into inputs/ first")


def _write(run: Path, header: str, params: dict[str, Any]) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    for link in LINKS:
        target = run / link
        if not target.is_symlink():
            target.symlink_to(Path("..") / ".." / link)
    (run / "params.yaml").write_text(header + yaml.safe_dump(params, sort_keys=False, width=110))
    return run


def new(name: str, model: str, data: str | None, source: str | None, force: bool = False) -> Path:
    """Write runs/<name>/ (links and params.yaml) for `model` on `data` (an npz in inputs/) or a `source`."""
    run = ROOT / "runs" / name
    for file, what in ((model, ".keras"), (data, ".npz")):
        _check_input(file, what)
    if (run / "params.yaml").exists() and not force:
        raise PipelineError(f"{run.relative_to(ROOT)}/params.yaml exists; pass --force to write it again")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    prepare = {"source": "npz", "file": data} if data else {"source": source, "file": ""}
    params = one_model_params(base, name, model, dropout_rate(str(ROOT / model)), prepare)
    header = (
        f"# One model trained elsewhere ({model}) on {data or source}, judged by every method it allows.\n"
        f"# Written by `python -m uncertainty.runs new {name} ...` from the project's params.yaml; edit freely.\n"
        f"#   cd runs/{name} && dvc repro    (or, from the root: make run RUN=runs/{name})\n"
    )
    return _write(run, header, params)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m uncertainty.runs", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("new", help="write runs/<name>/ for one .keras model")
    make.add_argument("name", help="the run's and the model's name (letters, digits, _)")
    what = make.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="the .keras file, in inputs/ (with --data or --source)")
    what.add_argument(
        "--predictions",
        nargs="+",
        help="saved outputs: an .npz in inputs/, or one per training (README: Saved predictions)",
    )
    where = make.add_mutually_exclusive_group()
    where.add_argument("--data", help="your images, an .npz in inputs/ (README: Your own model and data)")
    where.add_argument("--source", choices=("fashion_mnist", "mnist"), help="a data source of the project")
    make.add_argument("--force", action="store_true", help="write params.yaml again")
    arguments = parser.parse_args(argv)
    if not arguments.name.replace("_", "").isalnum():
        print(f"error: {arguments.name!r}: a run name is letters, digits and _", file=sys.stderr)
        sys.exit(2)
    if arguments.model and not (arguments.data or arguments.source):
        parser.error("--model needs --data or --source")
    if arguments.predictions and (arguments.data or arguments.source):
        parser.error("--predictions holds the labels itself: no --data or --source")
    try:
        if arguments.predictions:
            run = new_saved(arguments.name, arguments.predictions, arguments.force)
        else:
            run = new(arguments.name, arguments.model, arguments.data, arguments.source, arguments.force)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"{run.relative_to(ROOT)}: written; run it with: cd {run.relative_to(ROOT)} && dvc repro")


if __name__ == "__main__":
    main()
