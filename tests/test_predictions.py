"""Saved predictions (uncertainty.data.predictions) and the saved stage (stages.saved): one line per bad
file, probabilities standing in for logits, MC passes kept as the infer stage keeps them, the run folder's
params, and the promise that makes a saved model a model like any other: the committed plain CNN through
the infer stage, and the same outputs saved to a predictions file and through the saved stage, give
byte-identical per-set files (so every later stage gives identical numbers).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.special
import yaml

from uncertainty.core.errors import PipelineError
from uncertainty.data.predictions import Saved, check, description, from_inference, not_run, read
from uncertainty.models.summaries import summarize_passes

ROOT = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((ROOT / "params.yaml").read_text())
WHERE = "inputs/mine.npz"  # the name every synthetic file is checked under: training names mine_1 ...

S, N, K, D, T = 4, 40, 4, 6, 5  # trainings, test images, classes, feature width, MC passes
N_OOD, N_TRAIN, N_SHIFT = 30, 50, 10  # OOD images, training images, test images per shift condition
ANGLES = (0, 45, 90)
CORRUPTIONS, SEVERITIES = ("fog", "fog", "shear"), (1, 3, 2)


def synthetic(seed: int = 0) -> dict[str, np.ndarray]:
    """A valid file of S trainings: per set its features, the logits the last layer gives them and MC
    passes around those logits; one OOD set `far`, the rotated and corrupted first test images, and the
    training features with their labels."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(S, D, K)).astype(np.float32)
    bias = rng.normal(size=(S, K)).astype(np.float32)
    arrays: dict[str, np.ndarray] = {"last_kernel": kernel, "last_bias": bias}
    for prefix, images, mc in (
        ("test", (N,), True),
        ("ood_far", (N_OOD,), True),
        ("rotated", (len(ANGLES), N_SHIFT), True),
        ("corrupted", (len(CORRUPTIONS), N_SHIFT), True),
        ("train", (N_TRAIN,), False),
    ):
        features = rng.normal(size=(S, *images, D)).astype(np.float32)
        arrays[f"{prefix}_features"] = features
        if prefix == "train":
            continue
        logits = np.einsum("s...d,sdk->s...k", features, kernel) + bias.reshape(S, *[1] * len(images), K)
        arrays[f"{prefix}_logits"] = logits.astype(np.float32)
        if mc:
            noise = rng.normal(scale=0.7, size=(S, T, *images, K))
            arrays[f"{prefix}_mc_logits"] = (logits[:, None] + noise).astype(np.float32)
    arrays["y_test"] = rng.integers(0, K, N)
    arrays["y_train"] = rng.integers(0, K, N_TRAIN)
    arrays["rotated_angles"] = np.asarray(ANGLES)
    arrays["corrupted_corruption"] = np.asarray(CORRUPTIONS)
    arrays["corrupted_severity"] = np.asarray(SEVERITIES)
    return arrays


def probs_only(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Training 0 of a file without its trainings axis, holding probabilities where it held logits and no
    MC passes: what a framework that only exposes predict_proba saves (features and last layer kept)."""
    out = {}
    for key, array in arrays.items():
        if key.endswith("_mc_logits"):
            continue
        if key in ("y_test", "y_train", "rotated_angles", "corrupted_corruption", "corrupted_severity"):
            out[key] = array
        elif key.endswith("_logits"):
            out[key.replace("_logits", "_probs")] = scipy.special.softmax(
                array[0].astype(np.float64), axis=-1
            ).astype(np.float32)
        else:
            out[key] = array[0]
    return out


def softmax32(logits: np.ndarray) -> np.ndarray:
    """As the check turns logits into probabilities: the softmax in float64, kept in float32."""
    return scipy.special.softmax(logits.astype(np.float64), axis=-1).astype(np.float32)


# --- the valid file ----------------------------------------------------------------------------


def test_a_valid_file_passes_with_its_trainings_sets_and_passes() -> None:
    saved = check(synthetic(), WHERE)
    assert isinstance(saved, Saved)
    assert saved.name == "mine"
    assert saved.training_names == tuple(f"mine_{i}" for i in range(1, S + 1))
    assert saved.class_names == tuple(f"class {k}" for k in range(K))
    assert saved.ood == ("far",) and saved.mc and saved.logits
    assert set(saved.sets) == {"test", "ood_far", "rotated", "corrupted", "train"}
    assert set(saved.sets["test"]) == {"logits", "probs", "features", "mc_probs"}  # mc_logits -> mc_probs
    assert saved.sets["test"]["mc_probs"].shape == (S, T, N, K)
    assert saved.sets["rotated"]["mc_probs"].shape == (S, T, len(ANGLES), N_SHIFT, K)
    assert set(saved.sets["train"]) == {"features"}
    assert all(a.dtype == np.float32 for per in saved.sets.values() for a in per.values())
    np.testing.assert_array_equal(saved.conditions["rotated"]["angles"], ANGLES)
    assert saved.conditions["corrupted"]["corruption"].tolist() == list(CORRUPTIONS)
    assert set(saved.labels) == {"test", "train"} and saved.labels["test"].dtype == np.int64
    assert saved.last_layer["kernel"].shape == (S, D, K) and saved.last_layer["bias"].shape == (S, K)
    assert not_run(saved) == {}  # every kind, and both shifts: nothing left out

    one = saved.training(2)
    assert set(one) == set(saved.sets)
    np.testing.assert_array_equal(one["test"]["logits"], synthetic()["test_logits"][2])
    np.testing.assert_array_equal(one["train"]["kernel"], synthetic()["last_kernel"][2])
    assert {"labels"} <= set(one["test"]) and {"angles"} <= set(one["rotated"])
    assert {"corruption", "severity"} <= set(one["corrupted"])


def test_a_file_without_the_trainings_axis_is_one_training_named_after_the_file() -> None:
    saved = check(probs_only(synthetic()), WHERE)
    assert saved.training_names == ("mine",)
    given = {**synthetic(), "training_names": np.asarray(["a", "b", "c", "d"])}
    assert check(given, WHERE).training_names == ("a", "b", "c", "d")


# --- one line per bad file ---------------------------------------------------------------------


def changed(**edits: Any) -> Callable[[dict[str, np.ndarray]], None]:
    """A mutation setting (a callable: computing from the file) or, for None, removing keys."""

    def mutate(arrays: dict[str, np.ndarray]) -> None:
        for key, value in edits.items():
            if value is None:
                arrays.pop(key)
            else:
                arrays[key] = value(arrays) if callable(value) else value

    return mutate


def with_nan(key: str, value: float) -> Callable[[dict[str, np.ndarray]], None]:
    def mutate(arrays: dict[str, np.ndarray]) -> None:
        arrays[key] = arrays[key].copy()
        arrays[key].flat[7] = value

    return mutate


def no_ood(arrays: dict[str, np.ndarray]) -> None:
    for key in [k for k in arrays if k.startswith("ood_")]:
        arrays.pop(key)


def make_probs_only(
    mutate: Callable[[dict[str, np.ndarray]], None],
) -> Callable[[dict[str, np.ndarray]], None]:
    """Replace the file by its probs-only form, then mutate it."""

    def both(arrays: dict[str, np.ndarray]) -> None:
        only = probs_only(arrays)
        arrays.clear()
        arrays.update(only)
        mutate(arrays)

    return both


BAD = [
    ("test N differs from y_test", changed(y_test=lambda a: a["y_test"][:-1]),
     f"{WHERE}: test_logits: {N} images (N); expected {N - 1}, the labels in y_test"),
    ("K differs between sets", changed(ood_far_logits=lambda a: np.concatenate([a["ood_far_logits"]] * 2, -1)[..., : K + 1]),
     f"{WHERE}: ood_far_logits: K = {K + 1} classes, test_logits has {K}; expected the same K in every set"),
    ("NaN in logits", with_nan("test_logits", np.nan),
     f"{WHERE}: test_logits: 1 NaN or infinite values; expected finite numbers"),
    ("inf in OOD features", with_nan("ood_far_features", np.inf),
     f"{WHERE}: ood_far_features: 1 NaN or infinite values; expected finite numbers"),
    ("NaN in MC passes", with_nan("test_mc_logits", np.nan),
     f"{WHERE}: test_mc_logits: 1 NaN or infinite values; expected finite numbers"),
    ("probs not summing to 1", make_probs_only(changed(test_probs=lambda a: a["test_probs"] * np.float32(0.5))),
     f"{WHERE}: test_probs: rows sum to …; expected probabilities in [0, 1] summing to 1 "
     "(save logits as test_logits instead)"),
    ("negative probs", make_probs_only(changed(ood_far_probs=lambda a: a["ood_far_probs"] - np.float32(0.5))),
     f"{WHERE}: ood_far_probs: rows sum to …expected probabilities in [0, 1] summing to 1"),
    ("features without last_kernel", changed(last_kernel=None),
     f"{WHERE}: test_features: given without last_kernel; expected last_kernel (D, K) and last_bias (K,)"),
    ("features without last_bias", changed(last_bias=None),
     f"{WHERE}: test_features: given without last_bias; expected last_kernel"),
    ("MC passes without the T axis", changed(test_mc_logits=lambda a: a["test_mc_logits"][:, 0]),
     f"{WHERE}: test_mc_logits: expected shape (S = {S}, T, N, K = {K}) like test_logits …, got ({S}, {N}, {K})"),
    ("MC passes of fewer OOD images", changed(ood_far_mc_logits=lambda a: a["ood_far_mc_logits"][:, :, 1:]),
     f"{WHERE}: ood_far_mc_logits: {N_OOD - 1} images (N); expected {N_OOD}, the images of ood_far's first array"),
    ("unknown key (typo)", changed(test_logtis=lambda a: a["test_logits"]),
     f"{WHERE}: test_logtis: not a key of the layout; expected <set>_logits, _probs"),
    ("unknown set", changed(shifted_logits=lambda a: a["test_logits"]),
     f"{WHERE}: shifted_logits: not a key of the layout"),
    ("missing rotated_angles", changed(rotated_angles=None),
     f"{WHERE}: rotated: no rotated_angles; expected one value per condition (A = {len(ANGLES)})"),
    ("rotated_angles of the wrong length", changed(rotated_angles=np.asarray([0, 90])),
     f"{WHERE}: rotated_angles: expected shape ({len(ANGLES)},), one per condition, got (2,)"),
    ("corruption names not strings", changed(corrupted_corruption=np.arange(len(CORRUPTIONS))),
     f"{WHERE}: corrupted_corruption: expected strings (the corruptions' names), got dtype int64"),
    ("missing corrupted_severity", changed(corrupted_severity=None),
     f"{WHERE}: corrupted: no corrupted_severity; expected one value per condition (C = {len(CORRUPTIONS)})"),
    ("no OOD set", no_ood,
     f"{WHERE}: no OOD set; expected at least one ood_<name>_logits (or _probs)"),
    ("OOD set without the test set's passes", changed(ood_far_mc_logits=None),
     f"{WHERE}: ood_far: no ood_far_mc_logits, which the test set has; expected the same outputs for every OOD set"),
    ("test_probs not the softmax of test_logits", changed(test_probs=lambda a: np.roll(softmax32(a["test_logits"]), 1, -1)),
     f"{WHERE}: test_probs: differs from the softmax of test_logits by up to …; expected those probabilities"),
    ("last layer not mapping features to logits", changed(last_bias=lambda a: a["last_bias"] + np.float32(1)),
     f"{WHERE}: last_kernel: test_features @ last_kernel + last_bias differs from test_logits by up to 1; "
     "expected the last layer that maps the features to the logits"),
    ("last_kernel of the wrong width", changed(last_kernel=lambda a: a["last_kernel"][:, 1:]),
     f"{WHERE}: last_kernel: expected shape (S = {S}, D = {D}, K = {K}) like test_logits …, got ({S}, {D - 1}, {K})"),
    ("label K", changed(y_test=lambda a: np.where(np.arange(N) == 3, K, a["y_test"])),
     f"{WHERE}: y_test: expected integer labels 0..{K - 1} ({K} classes)"),
    ("label -1 in y_train", changed(y_train=lambda a: np.where(np.arange(N_TRAIN) == 0, -1, a["y_train"])),
     f"{WHERE}: y_train: expected integer labels 0..{K - 1} ({K} classes)"),
    ("fractional labels", changed(y_test=lambda a: a["y_test"] + 0.5),
     f"{WHERE}: y_test: expected integer labels 0..{K - 1}"),
    ("class_names of the wrong length", changed(class_names=np.asarray([f"c{k}" for k in range(K + 1)])),
     f"{WHERE}: class_names: {K + 1} names; expected one per class (K = {K}, test_logits)"),
    ("y_train without train_features", changed(train_features=None),
     f"{WHERE}: y_train: given without train_features; expected both (or neither)"),
    ("train_features without y_train", changed(y_train=None),
     f"{WHERE}: train_features: no y_train beside it; expected the training labels (N,)"),
    ("no y_test", changed(y_test=None),
     f"{WHERE}: no array 'y_test'; expected the test labels (N,) 0..K-1"),
    ("no test outputs", changed(test_logits=None, test_mc_logits=None),
     f"{WHERE}: no test outputs; expected test_logits or test_probs (N, K)"),
    ("one class", changed(test_logits=lambda a: a["test_logits"][..., :1]),
     f"{WHERE}: test_logits: K = 1 classes; expected at least 2"),
    ("training_names repeated", changed(training_names=np.asarray(["a", "a", "b", "c"])),
     f"{WHERE}: training_names: expected {S} distinct strings (S,), got <U1 ({S},)"),
    ("more rotated images than test images", changed(
        **{k: (lambda a, k=k: np.concatenate([a[k]] * 5, axis=-2)) for k in ("rotated_logits", "rotated_features")},
        rotated_mc_logits=None),
     f"{WHERE}: rotated: {5 * N_SHIFT} images per condition; expected the first n <= {N} test images"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_each_bad_file_is_one_line_naming_the_key_and_what_was_expected(
    mutate: Callable[[dict[str, np.ndarray]], None], expected: str
) -> None:
    arrays = synthetic()
    mutate(arrays)
    with pytest.raises(PipelineError) as error:
        check(arrays, WHERE)
    message = str(error.value)
    assert "\n" not in message
    first, *rest = expected.split("…")  # the message's start, then the rest in order
    assert message.startswith(first), message
    at = len(first)
    for piece in rest:
        assert message.find(piece, at) >= 0, f"{piece!r} not in {message!r}"
        at = message.find(piece, at) + len(piece)


def test_a_file_that_is_no_npz_or_is_missing_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "mine.npz"
    text.write_text("y_test,test_logits\n")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, y_test=np.asarray([{"a": 1}], dtype=object))
    for path, expected in (
        (text, f"{text}: not an .npz archive (an .npz is a zip of arrays); save it with numpy.savez"),
        (
            tmp_path / "absent.npz",
            f"{tmp_path}/absent.npz: no such file (params.yaml prepare.file); expected",
        ),
        (pickled, f"{pickled}: not a readable .npz (Object arrays cannot be loaded when allow_pickle=False)"),
    ):
        with pytest.raises(PipelineError) as error:
            read(path)
        assert str(error.value).startswith(expected) and "\n" not in str(error.value), str(error.value)
    # A zip whose member is no .npy: numpy hands its bytes back, and the check names the key in one line.
    foreign = tmp_path / "foreign.npz"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("y_test.npy", b"not an array")
    with pytest.raises(
        PipelineError, match=r"^inputs/mine.npz: y_test: expected real numbers, got dtype \|S12$"
    ):
        check({**synthetic(), **read(foreign)}, WHERE)


def test_a_saved_file_reads_back_as_it_was_written(tmp_path: Path) -> None:
    np.savez(tmp_path / "mine.npz", **synthetic())
    arrays = read(tmp_path / "mine.npz")
    assert set(arrays) == set(synthetic())
    assert check(arrays, WHERE).training_names == check(synthetic(), WHERE).training_names


# --- probabilities only ------------------------------------------------------------------------


def test_probabilities_only_become_log_probabilities_and_leave_out_the_logit_scores() -> None:
    arrays = probs_only(synthetic())
    saved = check(arrays, WHERE)
    assert not saved.logits and not saved.mc
    test = saved.sets["test"]
    np.testing.assert_array_equal(test["probs"][0], arrays["test_probs"])
    expected = np.log(np.maximum(arrays["test_probs"].astype(np.float64), np.finfo(np.float32).tiny))
    np.testing.assert_array_equal(test["logits"][0], expected.astype(np.float32))
    for set_name in ("test", "ood_far", "rotated", "corrupted"):
        per = saved.sets[set_name]
        np.testing.assert_allclose(softmax32(per["logits"]), per["probs"], rtol=0, atol=2e-7)
    missing = not_run(saved)
    assert "energy and max logit" in missing and "real logits" in missing["energy and max logit"]
    assert "MC dropout" in missing and "deep ensembles (and intervals over trainings)" in missing
    assert not any("feature" in what for what in missing)  # the features and last layer are there
    recorded = description(saved)  # what data/dataset.json says of the file
    assert (
        recorded["trainings"] == ["mine"] and recorded["logits"] is False and recorded["mc_samples"] is False
    )
    assert recorded["sets"]["test"] == ["features", "logits", "probs"] and recorded["not_run"] == missing


# --- the saved stage's MC summaries ------------------------------------------------------------


def test_the_saved_stage_keeps_mc_passes_as_the_infer_stage_summarizes_them() -> None:
    from stages.saved import outputs

    arrays = synthetic()
    saved = check(arrays, WHERE)
    index, curve = 1, (1, 2, T, 50)  # 50 > T passes: skipped, as the infer stage skips it
    files = outputs(saved.training(index), ("test", "far"), curve)
    assert set(files) == {"test", "far", "rotated", "corrupted", "train"}
    for name, prefix in (("test", "test"), ("far", "ood_far")):
        expected = summarize_passes(softmax32(arrays[f"{prefix}_mc_logits"][index]), curve)
        assert set(expected) <= set(files[name]) and "mc_probs" not in files[name]
        np.testing.assert_array_equal(files[name]["curve_passes"], (1, 2, T))
        for key, value in expected.items():
            assert files[name][key].dtype == value.dtype
            np.testing.assert_array_equal(files[name][key], value, err_msg=f"{name} {key}")
    for name, conditions in (("rotated", len(ANGLES)), ("corrupted", len(CORRUPTIONS))):
        passes = softmax32(arrays[f"{name}_mc_logits"][index])  # (T, C, n, K)
        assert "curve_mean" not in files[name]  # curves only on the test set and the first OOD set
        for c in range(conditions):
            alone = summarize_passes(passes[:, c])
            for key, value in alone.items():
                assert files[name][key].shape == (conditions, *value.shape)
                np.testing.assert_allclose(
                    files[name][key][c], value, rtol=0, atol=1e-12, err_msg=f"{name} {key} {c}"
                )
    np.testing.assert_array_equal(files["rotated"]["angles"], ANGLES)
    assert files["corrupted"]["corruption"].tolist() == list(CORRUPTIONS)
    np.testing.assert_array_equal(files["corrupted"]["severity"], SEVERITIES)
    train = files["train"]
    assert set(train) == {"features", "logits", "labels", "kernel", "bias"}
    np.testing.assert_array_equal(train["logits"], train["features"] @ train["kernel"] + train["bias"])
    np.testing.assert_array_equal(files["test"]["labels"], arrays["y_test"])
    np.testing.assert_array_equal(files["test"]["logits"], arrays["test_logits"][index])


# --- the key promise: a saved model's files are the infer stage's -------------------------------


def fashion_mnist_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` Fashion-MNIST test images and labels (Debian's package), else seeded noise."""
    from uncertainty.data.fashion_mnist import DEBIAN_DIR, FASHION_MNIST_FILES, read_idx_gz

    files = [FASHION_MNIST_FILES[part] for part in ("test_images", "test_labels")]
    if all((DEBIAN_DIR / file[0]).is_file() for file in files):
        images, labels = (read_idx_gz(DEBIAN_DIR / name, sha, kind, n) for name, sha, kind, n in files)
        return images[:count], labels[:count]
    rng = np.random.default_rng(84)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count).astype(np.uint8)


def tiny_params(**train: Any) -> SimpleNamespace:
    """The infer and saved stages' sections of the project's params.yaml, with few noise and shift images."""
    from stages import infer

    raw = json.loads(json.dumps(PROJECT))
    raw["ood"].update(uniform_noise=20, gaussian_noise=20)
    raw["shift"].update(angles=[0, 30, 90], test_limit=25)
    raw["train"].update(train)
    return SimpleNamespace(**{key: kind.model_validate(raw[key]) for key, kind in infer.SECTIONS.items()})


def test_the_committed_cnn_through_infer_and_saved_gives_identical_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """models/plain.npz (the article's plain CNN) through stages.infer.main on 200 Fashion-MNIST test
    images, its outputs saved as a predictions file (from_inference, numpy.savez) and through
    stages.saved: every set's file the same bytes, every array the same values and dtype."""
    from stages import infer, saved
    from uncertainty.core.io import load_npz, save_npz
    from uncertainty.data.corruptions import corrupt
    from uncertainty.data.images import to_model_input
    from uncertainty.evaluation.metrics import ece, nll

    monkeypatch.chdir(ROOT)  # train.builder.file is a path of the repository
    images, labels = fashion_mnist_images(400)
    save_npz(tmp_path / "dataset.npz", {
        "x_train": images[200:], "y_train": labels[200:], "x_test": images[:200], "y_test": labels[:200],
    })  # fmt: skip
    save_npz(tmp_path / "ood.npz", {"ood_mnist": 255 - images[:50]})  # any images: equality is the point
    clean = to_model_input(images[:20])
    rows = [(name, severity) for name in ("fog", "shot_noise") for severity in (1, 3)]
    corrupted = [
        corrupt(clean, name, severity, np.random.default_rng([84, i])).reshape(20, 28, 28)
        for i, (name, severity) in enumerate(rows)
    ]
    save_npz(tmp_path / "corrupted.npz", {
        "images": np.rint(np.stack(corrupted) * 255.0).astype(np.uint8),
        "corruption": np.asarray([r[0] for r in rows]), "severity": np.asarray([r[1] for r in rows]),
    })  # fmt: skip
    info = {
        "name": "Fashion-MNIST", "source": "fashion_mnist", "image_shape": [28, 28, 1],
        "class_names": [f"class {k}" for k in range(10)], "ood": {"mnist": {"label": "MNIST", "words": "digits"}},
    }  # fmt: skip
    (tmp_path / "dataset.json").write_text(json.dumps(info))
    inference = tmp_path / "inference"
    infer.main(
        tiny_params(),
        "plain",
        SimpleNamespace(
            data=tmp_path / "dataset.npz", ood=tmp_path / "ood.npz", info=tmp_path / "dataset.json",
            corrupted=tmp_path / "corrupted.npz", model=ROOT / "models" / "plain.npz",
            output=inference / "plain", machine=tmp_path / "machine.json",
        ),
    )  # fmt: skip
    sets = ("test", "mnist", "uniform_noise", "gaussian_noise", "rotated", "corrupted", "train")
    assert sorted(p.stem for p in (inference / "plain").iterdir()) == sorted(sets)

    ood = ("mnist", "uniform_noise", "gaussian_noise")
    (tmp_path / "inputs").mkdir()
    file = tmp_path / "inputs" / "plain.npz"
    np.savez(file, **from_inference(inference, ("plain",), ood))
    checked = check(read(file), "inputs/plain.npz")
    assert set(checked.ood) == set(ood) and checked.logits and not checked.mc
    assert checked.ood == ood  # a file's OOD sets in the order its keys come, as the infer stage wrote them
    assert checked.training_names == ("plain",)
    curve_passes = tuple(PROJECT["infer"]["curve_passes"])
    files = saved.outputs(checked.training(0), ("test", "mnist"), curve_passes)
    assert set(files) == set(sets)
    for set_name in sets:
        expected = load_npz(inference / "plain" / f"{set_name}.npz")
        assert set(files[set_name]) == set(expected), set_name  # a deterministic model: no MC keys
        for key, value in expected.items():
            got = files[set_name][key]
            assert got.dtype == value.dtype, f"{set_name} {key}: {got.dtype} != {value.dtype}"
            assert np.array_equal(got, value), f"{set_name} {key}"

    # The stage itself, from the file in inputs/, writes the very same bytes.
    monkeypatch.chdir(tmp_path)
    info["ood"] = {name: {"label": name, "words": name} for name in checked.ood}  # the prepare stage's
    (tmp_path / "saved.json").write_text(json.dumps(info))
    saved.main(
        tiny_params(models={}, saved={"plain": {"file": "inputs/plain.npz", "training": 0}}),
        "plain",
        SimpleNamespace(
            data=tmp_path / "dataset.npz", info=tmp_path / "saved.json", output=tmp_path / "saved"
        ),
    )
    for set_name in sets:
        assert (tmp_path / "saved" / f"{set_name}.npz").read_bytes() == (
            inference / "plain" / f"{set_name}.npz"
        ).read_bytes(), set_name

    test = load_npz(inference / "plain" / "test.npz")
    again = load_npz(tmp_path / "saved" / "test.npz")
    assert nll(test["probs"], test["labels"]) == nll(again["probs"], again["labels"])
    assert ece(test["probs"], test["labels"], 15) == ece(again["probs"], again["labels"], 15)


# --- the run folder's params -------------------------------------------------------------------


def validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrays: dict[str, np.ndarray], name: str
) -> Any:
    """saved_params of `arrays` written to inputs/<name>.npz of a project folder, checked as check_params
    checks params.yaml (uncertainty.config.validate)."""
    from uncertainty.config import validate
    from uncertainty.runs import saved_params

    (tmp_path / "inputs").mkdir()
    (tmp_path / "uncertainty").symlink_to(ROOT / "uncertainty")  # train.builder.file
    np.savez(tmp_path / "inputs" / f"{name}.npz", **arrays)
    monkeypatch.chdir(tmp_path)
    file = f"inputs/{name}.npz"
    params = saved_params(PROJECT, name, file, check(read(file), file))
    return params, validate(params)


def test_a_run_of_a_file_with_trainings_and_passes_keeps_every_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uncertainty.runs import CALIBRATING_KINDS

    params, checked = validated(tmp_path, monkeypatch, synthetic(), "mine")
    names = [f"mine_{i}" for i in range(1, S + 1)]
    assert params["train"]["saved"] == {
        n: {"file": "inputs/mine.npz", "training": i, "mc_samples": True} for i, n in enumerate(names)
    }
    assert params["train"]["models"] == {} and params["train"]["imported"] == {}
    predictors = params["predictors"]
    assert {"plain", "ensemble", "mc_dropout", "laplace", "feature_density", "knn", "vim", "rmds"} <= set(
        predictors
    )
    assert {"plain_energy", "plain_max_logit", "laplace_centred", "laplace_mc"} <= set(predictors)
    calibrators = {key for key, spec in PROJECT["predictors"].items() if spec["kind"] in CALIBRATING_KINDS}
    assert calibrators <= set(predictors) and set(predictors) == set(PROJECT["predictors"])
    assert all(spec.get("models", names) == names for spec in predictors.values())
    assert predictors["ensemble"]["options"]["members"] == S // 2  # two disjoint ensembles of two
    assert params["verdicts"]["comparisons"] == PROJECT["verdicts"]["comparisons"]
    assert params["shift"]["angles"] == list(ANGLES)
    assert params["corrupt"]["corruptions"] == ["fog", "shear"] and params["corrupt"]["severities"] == [
        1,
        2,
        3,
    ]
    assert params["corrupt"]["verdict_severities"] == [3]
    assert params["prepare"]["source"] == "predictions" and params["prepare"]["file"] == "inputs/mine.npz"
    assert set(checked.train.models) == set(names)
    assert all(checked.train.models[n].stochastic and checked.train.models[n].saved for n in names)


def test_a_run_of_one_training_of_probabilities_keeps_what_they_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params, checked = validated(tmp_path, monkeypatch, probs_only(synthetic()), "probs")
    predictors = params["predictors"]
    assert params["train"]["saved"] == {
        "probs": {"file": "inputs/probs.npz", "training": 0, "mc_samples": False}
    }
    assert not {"ensemble", "ensemble_ts", "mc_dropout", "mc_dropout_ts"} & set(predictors)
    assert not {"plain_energy", "plain_max_logit"} & set(predictors)  # they need real logits
    assert {"plain", "plain_ts", "feature_density", "knn", "vim", "rmds", "laplace"} <= set(predictors)
    assert all(a in predictors and b in predictors for a, b in params["verdicts"]["comparisons"])
    assert params["infer"]["shift_mc_models"] == [] and params["infer"]["also_without_dropout"] == []
    assert list(checked.train.models) == ["probs"] and not checked.train.models["probs"].stochastic


def one_training(arrays: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """Training `index` of a synthetic file alone, without the trainings axis: what one file per training holds."""
    shared = {
        "y_test",
        "y_train",
        "class_names",
        "rotated_angles",
        "corrupted_corruption",
        "corrupted_severity",
    }
    return {k: (v if k in shared else v[index]) for k, v in arrays.items() if k != "training_names"}


def test_one_file_per_training_makes_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`runs new --predictions a.npz b.npz ...`: each file one training (named by its stem), every kind the
    keys allow over all of them; a file with other keys is named in one line."""
    from uncertainty.config import validate
    from uncertainty.core.errors import PipelineError
    from uncertainty.runs import saved_params

    (tmp_path / "inputs").mkdir()
    (tmp_path / "uncertainty").symlink_to(ROOT / "uncertainty")
    monkeypatch.chdir(tmp_path)
    arrays = synthetic()
    files = [f"inputs/seed_{i}.npz" for i in range(S)]
    for index, file in enumerate(files):
        np.savez(file, **one_training(arrays, index))
    (first, saved), *more = [(f, check(read(f), f)) for f in files]
    params = saved_params(PROJECT, "seeds", first, saved, *more)
    assert params["train"]["saved"] == {
        f"seed_{i}": {"file": f, "training": 0, "mc_samples": True} for i, f in enumerate(files)
    }
    assert params["predictors"]["ensemble"]["models"] == [f"seed_{i}" for i in range(S)]
    assert set(validate(params).train.models) == {f"seed_{i}" for i in range(S)}

    without = one_training(arrays, 1)
    without.pop("test_mc_logits")
    for key in [k for k in without if k.endswith("_mc_logits")]:
        without.pop(key)
    np.savez("inputs/other.npz", **without)
    with pytest.raises(PipelineError) as error:
        saved_params(
            PROJECT,
            "seeds",
            first,
            saved,
            ("inputs/other.npz", check(read("inputs/other.npz"), "inputs/other.npz")),
        )
    assert str(error.value) == (
        "inputs/other.npz: its sets, keys or test labels differ from inputs/seed_0.npz's; expected one file per "
        "training with the same outputs on the same images"
    )
