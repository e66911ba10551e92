"""Saved outputs of a classifier from any framework: params.yaml `prepare.source: predictions` and
`prepare.file: inputs/<name>.npz`. Most of the evaluation needs no model: the metrics, temperature and the
other calibrators, conformal sets and verdicts read outputs and labels; the feature scores and last-layer
Laplace read features and the last layer; MC dropout and ensembles read their passes and trainings.

The file (numpy.savez, read without pickle), every key optional unless it says otherwise:

* `y_test` (N,), required: the test labels 0..K-1; `class_names` (K,) strings, else "class 0" ...;
* per set, `<set>_logits` or `<set>_probs` (N, K), say which by the key (both: the probabilities must be
  the softmax of the logits), `<set>_features` (N, D) the penultimate activations and `<set>_mc_logits`
  or `<set>_mc_probs` (T, N, K), T stochastic passes (MC dropout); sets: `test` (one of its outputs
  required), `ood_<name>` (each an out-of-distribution set, any number), `rotated` and `corrupted` (the
  first n test images under each condition: (A, n, ...) with `rotated_angles` (A,); (C, n, ...) with
  `corrupted_corruption` (C,) names and `corrupted_severity` (C,) integers) and `train` (features only,
  with `y_train`, for the methods fitted on the training images);
* `last_kernel` (D, K) and `last_bias` (K,): the last layer, logits = features @ kernel + bias;
* several trainings: a leading axis S on every array of a model (`test_logits` (S, N, K), `last_bias`
  (S, K), ...), with `training_names` (S,) optional (else <file stem>_1 ... _S).

Each OOD set carries what the test set carries (its outputs, features, passes); every array is checked here
and each problem stops the prepare stage with one line naming the key. A set holding probabilities only
gets log-probabilities as its logits: every softmax method is unchanged by that (softmax(log p) = p, and
temperatures act alike), but the logit scores (energy, max logit) need real logits (`not_run`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.special

from uncertainty.core.errors import PipelineError, one_line
from uncertainty.core.io import load_npz
from uncertainty.data.contract import class_names_for

SHIFTS = {"rotated": ("angles",), "corrupted": ("corruption", "severity")}  # shift set -> its condition keys
QUANTITIES = ("mc_logits", "mc_probs", "logits", "probs", "features")  # a set's arrays, longest suffix first
MODEL_KEYS = ("last_kernel", "last_bias")
OTHER_KEYS = ("y_test", "y_train", "class_names", "training_names", *MODEL_KEYS)
# Rows of float32 softmax outputs sum to 1 within ~1e-6: a sum off by more than this is not a distribution.
PROBABILITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Saved:
    """A checked predictions file: per training, per set, its arrays (uncertainty.data.predictions layout)."""

    name: str
    class_names: tuple[str, ...]
    training_names: tuple[str, ...]
    sets: dict[str, dict[str, np.ndarray]]  # set -> quantity -> array with a leading trainings axis S
    labels: dict[str, np.ndarray]  # "test", and "train" with train features
    # shift set -> its condition arrays (angles; corruption, severity)
    conditions: dict[str, dict[str, np.ndarray]]
    last_layer: dict[str, np.ndarray]  # kernel (S, D, K), bias (S, K), where given
    logits: bool  # False: probabilities only

    @property
    def ood(self) -> tuple[str, ...]:
        return tuple(s.removeprefix("ood_") for s in self.sets if s.startswith("ood_"))

    def has(self, quantity: str, set_name: str = "test") -> bool:
        return quantity in self.sets.get(set_name, {})

    @property
    def mc(self) -> bool:
        return self.has("mc_probs")

    def training(self, index: int) -> dict[str, dict[str, np.ndarray]]:
        """Training `index`'s arrays per set (float32 `probs`, `logits`, `features`, `mc_probs` (T, N, K)),
        `labels` on test and train, the shift sets' conditions and, on train, `kernel` and `bias`."""
        out: dict[str, dict[str, np.ndarray]] = {}
        for set_name, arrays in self.sets.items():
            out[set_name] = {q: a[index] for q, a in arrays.items()}
            out[set_name].update(self.conditions.get(set_name, {}))
        for set_name, labels in self.labels.items():
            out[set_name]["labels"] = labels
        if "train" in out:
            out["train"].update({key: array[index] for key, array in self.last_layer.items()})
        return out


def parse(key: str) -> tuple[str, str] | None:
    """`ood_mnist_logits` -> ("ood_mnist", "logits"); None for a key that names no set's quantity."""
    for quantity in QUANTITIES:
        if key.endswith(f"_{quantity}"):
            set_name = key[: -len(quantity) - 1]
            if set_name in ("test", "train", *SHIFTS) or (set_name.startswith("ood_") and len(set_name) > 4):
                return set_name, quantity
    return None


def read(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, read without pickle: one line for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such file (params.yaml prepare.file); expected a predictions .npz")
    if not zipfile.is_zipfile(path):
        raise PipelineError(
            f"{path}: not an .npz archive (an .npz is a zip of arrays); save it with numpy.savez"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise PipelineError(
            f"{path}: not a readable .npz ({one_line(error)}); save it with numpy.savez"
        ) from None


def _finite(array: np.ndarray, where: str) -> np.ndarray:
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise PipelineError(f"{where}: expected real numbers, got dtype {array.dtype}")
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise PipelineError(f"{where}: {bad:,} NaN or infinite values; expected finite numbers")
    return array


def _labels(array: np.ndarray, where: str, count: int | None, classes: int) -> np.ndarray:
    array = _finite(np.asarray(array), where)
    if array.ndim != 1 or (count is not None and len(array) != count):
        raise PipelineError(
            f"{where}: expected {count if count is not None else 'N'} labels (N,), got shape {array.shape}"
        )
    if not np.all(array == np.rint(array)) or (len(array) and (array.min() < 0 or array.max() >= classes)):
        raise PipelineError(f"{where}: expected integer labels 0..{classes - 1} ({classes} classes)")
    return array.astype(np.int64)


def check(arrays: Mapping[str, np.ndarray], where: str) -> Saved:
    """The file's arrays held to the layout above: each problem one line naming `where` and the key."""
    arrays = dict(arrays)
    unknown = sorted(k for k in arrays if k not in OTHER_KEYS and parse(k) is None and not _condition(k))
    if unknown:
        raise PipelineError(
            f"{where}: {unknown[0]}: not a key of the layout; expected <set>_logits, _probs, _features, "
            "_mc_logits or _mc_probs (sets test, train, ood_<name>, rotated, corrupted), y_test, y_train, "
            "class_names, training_names, last_kernel, last_bias, rotated_angles, corrupted_corruption, "
            "corrupted_severity (README: Saved predictions)"
        )
    outputs = [q for q in ("logits", "probs", "mc_logits", "mc_probs") if f"test_{q}" in arrays]
    if not outputs:
        raise PipelineError(
            f"{where}: no test outputs; expected test_logits or test_probs (N, K), or test_mc_logits (T, N, K)"
        )
    if "y_test" not in arrays:
        raise PipelineError(f"{where}: no array 'y_test'; expected the test labels (N,) 0..K-1")
    first = f"test_{outputs[0]}"
    reference = np.asarray(arrays[first])
    base = 3 if outputs[0].startswith("mc_") else 2
    if reference.ndim not in (base, base + 1):
        wanted = "(T, N, K) or (S, T, N, K)" if base == 3 else "(N, K) or (S, N, K)"
        raise PipelineError(f"{where}: {first}: expected {wanted}, got shape {reference.shape}")
    stacked = reference.ndim == base + 1  # a leading trainings axis on every array of a model
    trainings = reference.shape[0] if stacked else 1
    classes = reference.shape[-1]
    if classes < 2:
        raise PipelineError(f"{where}: {first}: K = {classes} classes; expected at least 2")
    lead = (trainings,) if stacked else ()

    def model_array(key: str, shape: tuple[str, ...], sizes: Mapping[str, int] | None = None) -> np.ndarray:
        """A per-training array of the named shape (K, and `sizes`' letters, fixed), with the trainings axis."""
        array = _finite(np.asarray(arrays[key]), f"{where}: {key}")
        fixed = {"S": trainings, "K": classes, **(sizes or {})}
        want = (*(("S",) if stacked else ()), *shape)
        if array.ndim != len(want) or any(
            w in fixed and fixed[w] != a for w, a in zip(want, array.shape, strict=True)
        ):
            named = ", ".join(f"{w} = {fixed[w]}" if w in fixed else w for w in want)
            also = f" like {first} (every array of a model has the trainings axis)" if stacked else ""
            raise PipelineError(f"{where}: {key}: expected shape ({named}){also}, got {array.shape}")
        return array if stacked else array[None]

    y_test = np.asarray(arrays["y_test"])
    n_test = len(y_test) if y_test.ndim == 1 else -1
    names = class_names_for(np.arange(classes), arrays.get("class_names"), where)
    if len(names) != classes:
        raise PipelineError(
            f"{where}: class_names: {len(names)} names; expected one per class (K = {classes}, {first})"
        )
    labels = {"test": _labels(y_test, f"{where}: y_test", None, classes)}
    sets: dict[str, dict[str, np.ndarray]] = {}
    conditions: dict[str, dict[str, np.ndarray]] = {}
    found = sorted(dict.fromkeys(parse(k)[0] for k in arrays if parse(k)), key=lambda s: s != "test")  # type: ignore[index]  # the file's order
    for set_name in found:
        per: dict[str, np.ndarray] = {}
        shift = set_name in SHIFTS
        lead_axes: tuple[str | int, ...] = ("A" if set_name == "rotated" else "C",) if shift else ()
        rows: int | None = n_test if set_name == "test" else None
        for quantity in ("logits", "probs", "mc_logits", "mc_probs", "features"):
            key = f"{set_name}_{quantity}"
            if key not in arrays:
                continue
            passes: tuple[str | int, ...] = ("T",) if quantity.startswith("mc_") else ()
            raw = np.asarray(arrays[key])
            if (
                quantity != "features"
                and raw.ndim == len(lead) + len(passes) + len(lead_axes) + 2
                and raw.shape[-1] != classes
            ):
                raise PipelineError(
                    f"{where}: {key}: K = {raw.shape[-1]} classes, {first} has {classes}; expected the same K in every set"
                )
            array = model_array(key, (*passes, *lead_axes, "N", "D" if quantity == "features" else "K"))
            n = array.shape[1 + len(passes) + len(lead_axes)]
            if rows is None:
                rows = n
            elif n != rows:
                counted = "labels in y_test" if set_name == "test" else f"images of {set_name}'s first array"
                raise PipelineError(f"{where}: {key}: {n:,} images (N); expected {rows:,}, the {counted}")
            per[quantity] = array
        for kind in ("", "mc_"):
            if f"{kind}logits" in per and f"{kind}probs" in per:
                implied = scipy.special.softmax(per[f"{kind}logits"].astype(np.float64), axis=-1)
                gap = float(np.max(np.abs(implied - per[f"{kind}probs"])))
                if gap > PROBABILITY_TOLERANCE:
                    raise PipelineError(
                        f"{where}: {set_name}_{kind}probs: differs from the softmax of {set_name}_{kind}logits by up to "
                        f"{gap:.3g}; expected those probabilities (or save one of the two)"
                    )
            if f"{kind}probs" in per:
                probs = per[f"{kind}probs"]
                sums = probs.sum(axis=-1)
                if (
                    probs.min() < 0
                    or probs.max() > 1 + PROBABILITY_TOLERANCE
                    or np.max(np.abs(sums - 1)) > PROBABILITY_TOLERANCE
                ):
                    raise PipelineError(
                        f"{where}: {set_name}_{kind}probs: rows sum to {sums.min():.4g}..{sums.max():.4g} (values "
                        f"{probs.min():.3g}..{probs.max():.3g}); expected probabilities in [0, 1] summing to 1 "
                        f"(save logits as {set_name}_{kind}logits instead)"
                    )
        if shift:
            conditions[set_name] = _conditions(arrays, set_name, where, per, lead_axes[0], n_test)
        sets[set_name] = per
    for set_name, per in sets.items():
        if set_name == "train":
            continue
        if not any(q in per for q in ("logits", "probs", "mc_logits", "mc_probs")):
            raise PipelineError(
                f"{where}: {set_name}_features: no {set_name}_logits or {set_name}_probs beside it; expected the set's outputs"
            )
        if set_name.startswith("ood_"):
            for quantity in ("features", "mc_logits|mc_probs", "logits|probs"):
                choices = quantity.split("|")
                if any(q in sets["test"] for q in choices) and not any(q in per for q in choices):
                    raise PipelineError(
                        f"{where}: {set_name}: no {set_name}_{choices[0]}, which the test set has; expected "
                        "the same outputs for every OOD set"
                    )
    dims = {k: a.shape[-1] for k, per in sets.items() for q, a in per.items() if q == "features"}
    if len(set(dims.values())) > 1:
        odd = next(k for k, d in dims.items() if d != dims.get("test", next(iter(dims.values()))))
        raise PipelineError(
            f"{where}: {odd}_features: D = {dims[odd]}; expected the same feature width as the others ({dims})"
        )
    if "train" in sets:
        if "features" not in sets["train"] or not set(sets["train"]) <= {"features", "logits"}:
            raise PipelineError(
                f"{where}: train: expected train_features (N, D) (and train_logits optionally)"
            )
        if "y_train" not in arrays:
            raise PipelineError(
                f"{where}: train_features: no y_train beside it; expected the training labels (N,)"
            )
        labels["train"] = _labels(
            np.asarray(arrays["y_train"]), f"{where}: y_train", sets["train"]["features"].shape[1], classes
        )
    elif "y_train" in arrays:
        raise PipelineError(f"{where}: y_train: given without train_features; expected both (or neither)")
    last_layer: dict[str, np.ndarray] = {}
    if dims:
        width = next(iter(dims.values()))
        for key in MODEL_KEYS:
            if key not in arrays:
                raise PipelineError(
                    f"{where}: {next(iter(dims))}_features: given without {key}; expected last_kernel (D, K) and "
                    "last_bias (K,), the layer the features feed (Laplace and ViM need it)"
                )
        last_layer["kernel"] = model_array("last_kernel", ("D", "K"), {"D": width})
        last_layer["bias"] = model_array("last_bias", ("K",))
        test = sets["test"]
        if "features" in test and "logits" in test:
            implied = (
                test["features"].astype(np.float64) @ last_layer["kernel"] + last_layer["bias"][:, None, :]
            )
            gap = float(np.max(np.abs(implied - test["logits"])))
            if gap > 1e-3 * (1 + float(np.max(np.abs(test["logits"])))):
                raise PipelineError(
                    f"{where}: last_kernel: test_features @ last_kernel + last_bias differs from test_logits by up to "
                    f"{gap:.3g}; expected the last layer that maps the features to the logits"
                )
    elif any(k in arrays for k in MODEL_KEYS):
        raise PipelineError(
            f"{where}: last_kernel: given without features; expected test_features and train_features with it"
        )
    given = arrays.get("training_names")
    if given is None:
        stem = Path(where).stem
        training_names = (stem,) if trainings == 1 else tuple(f"{stem}_{i + 1}" for i in range(trainings))
    else:
        given = np.asarray(given)
        if (
            given.dtype.kind not in "UO"
            or given.shape != (trainings,)
            or len(set(given.tolist())) != trainings
        ):
            raise PipelineError(
                f"{where}: training_names: expected {trainings} distinct strings (S,), got {given.dtype} {given.shape}"
            )
        training_names = tuple(str(n) for n in given)
    if not any(s.startswith("ood_") for s in sets):
        raise PipelineError(
            f"{where}: no OOD set; expected at least one ood_<name>_logits (or _probs): outputs on inputs the "
            "classifier should not trust, which every OOD verdict compares against the test set"
        )
    has_logits = all("logits" in per or "probs" not in per for per in sets.values())
    for set_name, per in sets.items():  # probabilities only: their logs serve as logits (module docstring)
        for kind in ("", "mc_") if set_name != "train" else ():  # train: its features (and logits) as given
            if f"{kind}logits" in per and f"{kind}probs" not in per:
                per[f"{kind}probs"] = scipy.special.softmax(
                    per[f"{kind}logits"].astype(np.float64), axis=-1
                ).astype(np.float32)
            elif f"{kind}probs" in per and f"{kind}logits" not in per and not kind:
                with np.errstate(divide="ignore"):
                    per["logits"] = np.log(
                        np.maximum(per["probs"].astype(np.float64), np.finfo(np.float32).tiny)
                    ).astype(np.float32)
        per.pop("mc_logits", None)  # the passes are kept as probabilities (uncertainty.models.summaries)
        for quantity in list(per):
            per[quantity] = per[quantity].astype(np.float32)
    return Saved(
        Path(where).stem, names, training_names, sets, labels, conditions,
        {k: a.astype(np.float32) for k, a in last_layer.items()}, has_logits,
    )  # fmt: skip


def _condition(key: str) -> bool:
    return any(key == f"{s}_{c}" for s, cs in SHIFTS.items() for c in cs)


def _conditions(
    arrays: Mapping[str, np.ndarray],
    set_name: str,
    where: str,
    per: Mapping[str, np.ndarray],
    axis: str,
    n_test: int,
) -> dict[str, np.ndarray]:
    """A shift set's condition arrays, one per row of its leading axis, and its images within the test set's."""
    quantity = next(q for q in ("logits", "probs", "features", "mc_probs", "mc_logits") if q in per)
    count, images = per[quantity].shape[2 if quantity.startswith("mc_") else 1 :][:2]  # (S, [T,] C, n, ...)
    if images > n_test:
        raise PipelineError(
            f"{where}: {set_name}: {images:,} images per condition; expected the first n <= {n_test:,} test images"
        )
    out = {}
    for name in SHIFTS[set_name]:
        key = f"{set_name}_{name}"
        if key not in arrays:
            raise PipelineError(
                f"{where}: {set_name}: no {key}; expected one value per condition ({axis} = {count})"
            )
        values = np.asarray(arrays[key])
        if values.shape != (count,):
            raise PipelineError(
                f"{where}: {key}: expected shape ({count},), one per condition, got {values.shape}"
            )
        if name == "corruption":
            if values.dtype.kind not in "UO":
                raise PipelineError(
                    f"{where}: {key}: expected strings (the corruptions' names), got dtype {values.dtype}"
                )
            out[name] = values.astype(str)
        else:  # angles, severities: whole numbers
            values = _finite(values, f"{where}: {key}")
            if not np.all(values == np.rint(values)):
                raise PipelineError(
                    f"{where}: {key}: expected whole numbers (one per condition), got {values.dtype}"
                )
            out[name] = values.astype(np.int64)
    return out


def from_inference(
    directory: str | Path, models: tuple[str, ...], ood: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The inference stage's outputs of deterministic models (<directory>/<model>/<set>.npz) as a predictions
    file's arrays, one training per model: what a user of another framework would save, and the check that
    reading it back gives the same files (tests/test_predictions.py)."""

    def stacked(set_name: str, key: str) -> np.ndarray:
        return np.stack([load_npz(Path(directory) / m / f"{set_name}.npz")[key] for m in models])

    out: dict[str, np.ndarray] = {"training_names": np.asarray(models)}
    for set_name, prefix in (
        ("test", "test"),
        *((s, f"ood_{s}") for s in ood),
        ("rotated", "rotated"),
        ("corrupted", "corrupted"),
        ("train", "train"),
    ):
        first = load_npz(Path(directory) / models[0] / f"{set_name}.npz")
        for quantity in ("logits", "probs", "features"):
            if quantity in first and not (set_name == "train" and quantity == "probs"):
                out[f"{prefix}_{quantity}"] = stacked(set_name, quantity)
        for name in SHIFTS.get(set_name, ()):
            out[f"{set_name}_{name}"] = first["angles" if name == "angles" else name]
    out["y_test"] = load_npz(Path(directory) / models[0] / "test.npz")["labels"]
    train = load_npz(Path(directory) / models[0] / "train.npz")
    out["y_train"] = train["labels"]
    out["last_kernel"], out["last_bias"] = stacked("train", "kernel"), stacked("train", "bias")
    return out


def not_run(saved: Saved) -> dict[str, str]:
    """What the file's keys leave out: the methods or sets (in words) -> the keys they would need."""
    test = saved.sets["test"]
    found = {}
    if "probs" not in test:
        found["the softmax and every method on it"] = "test_logits (N, K)"
    elif not saved.logits:
        found["energy and max logit"] = "real logits: <set>_logits in place of <set>_probs"
    if not saved.mc:
        found["MC dropout"] = "MC passes: test_mc_logits (T, N, K), and for each OOD set"
    if len(saved.training_names) < 2:
        found["deep ensembles (and intervals over trainings)"] = "several trainings: a leading axis S >= 2"
    if "features" not in test:
        found["feature density, KNN, ViM, relative Mahalanobis and last-layer Laplace"] = (
            "train_features, y_train, test_features, ood_<name>_features, last_kernel, last_bias"
        )
    for shift, keys in (
        ("rotated", "rotated_logits with rotated_angles"),
        ("corrupted", "corrupted_logits with corrupted_corruption and corrupted_severity"),
    ):
        if shift not in saved.sets:
            found[f"dataset shift by {'rotation' if shift == 'rotated' else 'corruption'}"] = keys
    return found


def description(saved: Saved) -> dict[str, object]:
    """What data/dataset.json records of a predictions file (the report names what cannot run)."""
    return {
        "trainings": list(saved.training_names),
        "sets": {name: sorted(arrays) for name, arrays in saved.sets.items()},
        "logits": saved.logits,
        "mc_samples": saved.mc,
        "not_run": not_run(saved),
    }
