"""A model that has not learned is named, not judged: the rules on hand-made numbers (uncertainty.evaluation.health),
the two modes' accuracies on a tiny BatchNorm model (uncertainty.models.modes) and the stage on files."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from uncertainty.evaluation.health import assess, chance_level, class_counts, flagged

ROOT = Path(__file__).resolve().parents[1]
RULES = {"chance_margin": 0.1, "max_gap": 0.2}
BALANCED = [100] * 10  # ten classes, 100 test images each: chance 0.10


def kinds(record: dict[str, Any]) -> list[str]:
    return [problem["kind"] for problem in record["problems"]]


# --------------------------------------------------------------------------- uncertainty.evaluation.health: the rules


def test_chance_is_the_majority_share_at_least_one_over_k() -> None:
    assert chance_level(BALANCED, 10) == pytest.approx(0.1)
    assert chance_level([70, 10, 10, 10], 4) == pytest.approx(0.7)  # always answering class 0
    assert chance_level([0, 0, 5], 10) == pytest.approx(1.0)  # one class present: the majority is all
    assert chance_level([3, 3, 3, 3], 2) == pytest.approx(0.5)  # never below 1/K
    assert class_counts(np.array([0, 2, 2, 3]), 5).tolist() == [1, 0, 2, 1, 0]


def test_a_well_trained_model_has_no_problem() -> None:
    """The committed Fashion-MNIST CNNs: test 0.91, train 0.95 to 0.97 (with BatchNorm: both modes alike)."""
    record = assess(10, BALANCED, 0.91, 0.96, **RULES)
    assert record["problems"] == [] and record["chance"] == pytest.approx(0.1)
    assert record["batch_norm"] is False and record["training_mode_accuracy"] is None
    assert "history_accuracy" not in record
    settled = assess(10, BALANCED, 0.91, 0.93, 0.94, history_accuracy=0.95, **RULES)
    assert settled["problems"] == [] and settled["batch_norm"] is True
    assert settled["training_mode_accuracy"] == 0.94 and settled["history_accuracy"] == 0.95


@pytest.mark.parametrize(
    ("test", "fires"),
    [(0.12, True), (0.199, True), (0.2001, False), (0.5, False)],  # chance 0.10 + margin 0.1 = 0.2
)
def test_near_chance_fires_below_chance_plus_the_margin(test: float, fires: bool) -> None:
    record = assess(10, BALANCED, test, test + 0.01, **RULES)
    assert kinds(record) == (["chance"] if fires else [])


def test_near_chance_is_measured_against_the_majority_class() -> None:
    """On labels 70 % one class, 0.75 is no better than always answering it."""
    assert kinds(assess(4, [70, 10, 10, 10], 0.75, 0.76, **RULES)) == ["chance"]
    assert kinds(assess(4, [25, 25, 25, 25], 0.75, 0.76, **RULES)) == []


def test_the_cause_of_near_chance_follows_the_other_numbers() -> None:
    """Not learned at all; fits its training images only; broken by BatchNorm: three different causes."""
    unlearned = assess(10, BALANCED, 0.11, 0.12, **RULES)["problems"][0]["text"]
    assert "has not learned its training images either" in unlearned
    assert unlearned.startswith("test accuracy 0.11 is within 0.1 of chance (0.10)")
    memorized = assess(10, BALANCED, 0.15, 0.99, **RULES)
    assert kinds(memorized) == ["chance", "gap"]
    assert "fits its training images but not the test images" in memorized["problems"][0]["text"]
    broken = assess(10, BALANCED, 0.12, 0.11, 0.93, **RULES)
    assert kinds(broken) == ["chance", "batch_norm"]
    assert "BatchNorm" in broken["problems"][0]["text"]
    for record in (memorized, broken):
        assert all(p["text"].endswith(".") and p["text"].count(": ") >= 1 for p in record["problems"])


@pytest.mark.parametrize(("train", "fires"), [(0.62, False), (0.79, False), (0.8001, True), (1.0, True)])
def test_a_gap_fires_above_max_gap(train: float, fires: bool) -> None:
    record = assess(10, BALANCED, 0.6, train, **RULES)  # test accuracy 0.6: a gap above 0.2 fires
    assert kinds(record) == (["gap"] if fires else [])
    if fires:
        assert "memorized its training images, or the test images differ" in record["problems"][0]["text"]


@pytest.mark.parametrize(
    ("training_mode", "fires"), [(0.5, False), (0.7, False), (0.7001, True), (0.99, True)]
)
def test_unsettled_batch_norm_fires_above_max_gap(training_mode: float, fires: bool) -> None:
    record = assess(10, BALANCED, 0.49, 0.5, training_mode, **RULES)  # inference mode 0.5 on the same images
    assert kinds(record) == (["batch_norm"] if fires else [])
    if fires:
        text = record["problems"][0]["text"]
        assert "BatchNorm's moving statistics have not settled" in text and "train longer" in text


def test_the_thresholds_are_the_params() -> None:
    assert kinds(assess(10, BALANCED, 0.25, 0.26, chance_margin=0.2, max_gap=0.2)) == ["chance"]
    assert kinds(assess(10, BALANCED, 0.8, 0.95, chance_margin=0.1, max_gap=0.1)) == ["gap"]
    assert kinds(assess(10, BALANCED, 0.8, 0.82, 0.95, chance_margin=0.1, max_gap=0.1)) == ["batch_norm"]


def test_flagged_keeps_the_models_with_a_problem_in_order() -> None:
    records = {
        "b": assess(10, BALANCED, 0.11, 0.12, **RULES),
        "ok": assess(10, BALANCED, 0.91, 0.93, **RULES),
        "a": assess(10, BALANCED, 0.5, 0.95, **RULES),
    }
    assert list(flagged(records)) == ["b", "a"]


# --------------------------------------------------------------------------- a tiny BatchNorm model

K = 4  # classes: a brighter 3x3 quadrant of a 6x6 grey image


def quadrants(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images: light grey 230 everywhere, 242 in the label's quadrant, a little noise: the class is a
    small change on a large mean, which the moving mean 0 and variance 1 leave unnormalized."""
    labels = rng.integers(0, K, n)
    images = np.full((n, 6, 6, 1), 230.0) + rng.normal(0, 1.5, (n, 6, 6, 1))
    for c in range(K):
        row, col = divmod(c, 2)
        images[labels == c, 3 * row : 3 * row + 3, 3 * col : 3 * col + 3] += 12
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def unsettled() -> dict[str, Any]:
    """A Functional CNN with BatchNormalization trained a few epochs with momentum 1: its moving statistics
    stay at their initial mean 0 and variance 1, as after too few steps. In training mode it is right on
    every image; in inference mode its unnormalized activations answer near chance."""
    import keras

    rng = np.random.default_rng(0)
    (x_train, y_train), (x_test, y_test) = quadrants(1024, rng), quadrants(512, rng)
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    h = keras.layers.BatchNormalization(momentum=1.0)(h)
    h = keras.layers.Flatten()(keras.layers.ReLU()(h))
    model = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x_train.astype(np.float32) / 255, y_train, batch_size=64, epochs=5, verbose=0)
    return {"model": model, "data": (x_train, y_train, x_test, y_test)}


def settled_copy(model: Any, images: np.ndarray) -> Any:
    """The same model with the BatchNorm's moving statistics set to the training images' own."""
    import keras

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    conv, norm = copy.layers[1], copy.layers[2]
    activations = np.asarray(conv(images))
    norm.moving_mean.assign(activations.mean(axis=(0, 1, 2)))
    norm.moving_variance.assign(activations.var(axis=(0, 1, 2)))
    return copy


def test_training_mode_is_keras_training_call_without_updating_anything(unsettled: dict[str, Any]) -> None:
    import keras

    from uncertainty.models.modes import batch_normalized

    model, (x_train, *_) = unsettled["model"], unsettled["data"]
    norm = model.layers[2]
    batch = model.layers[1](x_train[:64].astype(np.float32) / 255)
    ours = np.asarray(batch_normalized(norm, batch))
    before = [np.array(w) for w in model.get_weights()]
    probe = keras.layers.BatchNormalization.from_config(norm.get_config())
    probe.build(batch.shape)
    probe.set_weights(norm.get_weights())
    np.testing.assert_allclose(ours, np.asarray(probe(batch, training=True)), atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_the_two_modes_tell_unsettled_batch_norm_apart(unsettled: dict[str, Any]) -> None:
    from uncertainty.models.modes import inference_accuracy, training_mode_accuracy

    model, (x_train, y_train, x_test, y_test) = unsettled["model"], unsettled["data"]
    images = x_train.astype(np.float32) / 255
    before = [np.array(w) for w in model.get_weights()]
    training = training_mode_accuracy(model, images, y_train, batch_size=128)
    inference = inference_accuracy(model, images, y_train)
    assert training > 0.95 and inference < 0.4, (training, inference)
    assert inference_accuracy(model, x_test.astype(np.float32) / 255, y_test) < 0.4  # the test set alike
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))  # untouched
    settled = settled_copy(model, images)
    assert inference_accuracy(settled, images, y_train) > 0.9
    assert training_mode_accuracy(settled, images, y_train, batch_size=128) == pytest.approx(training)


def test_the_stage_names_unsettled_batch_norm(
    unsettled: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stages.health on files: the unsettled model is flagged (near chance, BatchNorm), its settled copy not."""
    from stages import health as stage
    from uncertainty.core.io import save_npz
    from uncertainty.core.schema.health import Health
    from uncertainty.core.schema.train import Train
    from uncertainty.data.dataset_info import write_info
    from uncertainty.models.cnn import save_cnn

    monkeypatch.chdir(ROOT)  # train.builder's file, as the stages see it
    x_train, y_train, x_test, y_test = unsettled["data"]
    (tmp_path / "models").mkdir()
    models = {
        "unsettled": unsettled["model"],
        "settled": settled_copy(unsettled["model"], x_train / np.float32(255)),
    }
    for name, model in models.items():  # stored as an imported model: its Keras config beside the weights
        spec = {
            "name": name,
            "file": f"inputs/{name}.keras",
            "dropout_rate": 0.0,
            "keras_config": model.to_json(),
        }
        save_cnn(tmp_path / "models" / f"{name}.npz", model, spec)
    save_npz(
        tmp_path / "data.npz", {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    )
    write_info(tmp_path / "info.json", "quadrants", "npz", [f"q{c}" for c in range(K)], (6, 6, 1), {})
    train = {
        "builder": {"file": "uncertainty/models/cnn.py", "function": "build_cnn"}, "epochs": 1, "batch_size": 128,
        "learning_rate": 0.001, "strategy": "default", "steps_per_execution": 1, "batch_shards": 1,
        "imported": {name: {"file": f"inputs/{name}.keras"} for name in models},
    }  # fmt: skip
    params = SimpleNamespace(
        train=Train.model_validate(train),
        health=Health(chance_margin=0.1, max_gap=0.2, train_images=600),
    )
    paths = SimpleNamespace(
        data=tmp_path / "data.npz", info=tmp_path / "info.json", models=tmp_path / "models",
        metrics=tmp_path / "health.json",
    )  # fmt: skip
    stage.main(params, paths)
    records = json.loads(paths.metrics.read_text())
    assert set(records) == {"unsettled", "settled"}
    bad, good = records["unsettled"], records["settled"]
    assert kinds(bad) == ["chance", "batch_norm"], bad
    assert bad["batch_norm"] and bad["training_mode_accuracy"] > 0.95 and bad["train_accuracy"] < 0.4
    assert bad["chance"] == pytest.approx(np.bincount(y_test).max() / len(y_test), abs=1e-6)
    assert good["problems"] == [] and good["test_accuracy"] > 0.9, good


# --------------------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    """The committed params and metrics, with each trained model's health made from its train metrics."""
    from uncertainty.core.params import read_params
    from uncertainty.core.schema.params import SECTIONS

    params = read_params(SECTIONS, ROOT / "params.yaml")
    metrics = {
        path.stem: json.loads(path.read_text())
        for directory in ("metrics", "tables")
        for path in sorted((ROOT / "reports" / directory).glob("*.json"))
    }
    metrics["health"] = {
        name: {**assess(10, BALANCED, m["test_accuracy"], m["train_accuracy"], **RULES), "train_images": 2000}
        for name in params.train.models
        if (m := metrics.get(f"train_{name}"))
    }
    return {"params": params, "metrics": metrics}


def rendered(metrics: dict[str, Any], params: Any) -> str:
    from uncertainty.data.fashion_mnist import CLASS_NAMES
    from uncertainty.report import page as pages
    from uncertainty.report import summary

    data = pages.data_record("Fashion-MNIST", "fashion_mnist", CLASS_NAMES, ["MNIST digits"], params.train)
    parts = [("health.md.j2", summary.health(metrics, params))]
    return pages.render(parts, summary.summary(metrics, params, {}), data)[0]


def test_a_report_without_a_problem_is_the_report_without_the_check(committed: dict[str, Any]) -> None:
    from uncertainty.report import summary

    metrics, params = committed["metrics"], committed["params"]
    assert not any(record["problems"] for record in metrics["health"].values())
    assert summary.health(metrics, params) is None
    without = {key: value for key, value in metrics.items() if key != "health"}
    text = rendered(metrics, params)
    assert text == rendered(without, params) and "⚠" not in text and "not learned" not in text


def test_a_model_that_has_not_learned_is_named_first_and_its_rows_marked(committed: dict[str, Any]) -> None:
    from uncertainty.report import summary

    params, metrics = committed["params"], json.loads(json.dumps(committed["metrics"]))
    metrics["health"]["dropout_2"] = {**assess(10, BALANCED, 0.12, 0.11, 0.93, **RULES), "train_images": 2000}
    text = rendered(metrics, params)
    opening, rest = text.split("## Summary", 1)
    assert "**Models that have not learned**" in opening
    bullet = next(line for line in opening.splitlines() if line.startswith("- **dropout_2**"))
    assert "test accuracy 0.12 against chance 0.10, train accuracy 0.11 (inference mode" in bullet
    assert "0.93 in training mode" in bullet and "BatchNorm's moving statistics have not settled" in bullet
    assert "in its training history" in bullet  # train_dropout_2.json's last epoch beside them
    # dropout_2 is one of MC dropout's models: its rows, and its temperature-scaled twin's, are marked
    assert summary.resting_on(["dropout_2"], params) == ["mc_dropout", "mc_dropout_ts"]
    assert "(MC dropout; MC dropout + temperature) is marked ⚠" in opening
    cells = [
        cell.strip().strip("*") for row in rest.split("\n\n")[2].splitlines()[2:] for cell in row.split("|")
    ]
    marked = [cell for cell in cells if cell.endswith("⚠")]
    assert marked and marked == [cell for cell in cells if cell.startswith("MC dropout")], marked
    assert "deep ensemble ⚠" not in text
    section = text.split("## Models that have not learned", 1)[1]
    assert "| dropout_2 ⚠ " in section and "| plain " in section and "chance, batch_norm" in section


def test_a_temperature_predictor_uses_the_models_it_scales(committed: dict[str, Any]) -> None:
    from uncertainty.report.summary import models_of

    found = models_of(committed["params"])
    assert found["plain_ts"] == found["plain"] and "ensemble_3" in found["ensemble_ts"]
