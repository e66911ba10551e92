"""Training: the input pipeline, batch shards and their threads, and one step under MirroredStrategy on two logical CPUs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from benchmarks.train_epoch import autotuned_dataset
from uncertainty.models.cnn import build_cnn
from uncertainty.models.runtime import seed_everything
from uncertainty.models.training import BatchShards, make_dataset, train_cnn

ROOT = Path(__file__).resolve().parents[1]


def test_dataset_shuffles_from_its_seed_and_keeps_every_sample() -> None:
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    labels = np.eye(10, dtype=np.float32)

    def order(seed: int | None) -> list[float]:
        return [float(v) for x, _ in make_dataset(images, labels, 4, seed) for v in x.numpy().ravel()]

    assert order(None) == list(range(10))
    assert order(1) == order(1)
    assert sorted(order(1)) == list(range(10)) and order(1) != list(range(10))
    assert order(1) != order(2)


def test_dataset_gives_the_batches_of_tf_data_defaults_on_one_thread_without_autotuning() -> None:
    # The pipeline before the training-speed work (tf.data's thread pool, AUTOTUNE): the same batches in the
    # same order, so the trained bits do not depend on which one fed them.
    rng = np.random.default_rng(0)
    images = rng.random((300, 28, 28, 1), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 300)]
    autotuned = autotuned_dataset(images, labels, 32, seed=7)
    steady = make_dataset(images, labels, 32, seed=7)
    for _ in range(2):  # two epochs: the reshuffle too
        expected, got = list(autotuned), list(steady)
        assert len(got) == len(expected) == 10
        for (x, y), (x_expected, y_expected) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(x.numpy(), x_expected.numpy())
            np.testing.assert_array_equal(y.numpy(), y_expected.numpy())
    options = steady.options()
    assert options.autotune.enabled is False
    assert options.threading.private_threadpool_size == 1


def _tiny_training(
    seed: int, steps_per_execution: int, batch_shards: int = 1, images: int = 200
) -> tuple[list[np.ndarray], dict, str]:
    rng = np.random.default_rng(0)
    x = rng.random((images, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, images)]
    seed_everything(seed)
    model, history, csv_text = train_cnn(
        0.1,
        seed,
        (x, y),
        (x[:50], y[:50]),
        2,
        32,
        0.001,
        steps_per_execution=steps_per_execution,
        batch_shards=batch_shards,
        verbose=0,
    )
    return model.get_weights(), history, csv_text


def test_history_is_keras_csv_logger_output_with_one_row_per_epoch() -> None:
    _, history, csv_text = _tiny_training(5, 1)
    table = pd.read_csv(io.StringIO(csv_text))
    assert list(table.columns) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert table["epoch"].tolist() == [0, 1]  # CSVLogger counts epochs from 0
    for column in ("accuracy", "loss", "val_accuracy", "val_loss"):
        np.testing.assert_allclose(table[column], history[column], rtol=1e-12)


def test_steps_per_execution_trains_the_same_steps() -> None:
    # 7 steps of 32 images an epoch (the last one 8 images), 4 steps per call: the same
    # updates in the same order. The graph differs, so oneDNN may round differently;
    # 1e-5 is far below what another seed moves (checked below).
    weights_one, _, _ = _tiny_training(5, 1)
    weights_four, _, _ = _tiny_training(5, 4)
    for one, four in zip(weights_one, weights_four, strict=True):
        np.testing.assert_allclose(four, one, atol=1e-5)
    weights_other_seed, _, _ = _tiny_training(6, 4)
    assert max(np.abs(a - b).max() for a, b in zip(weights_four, weights_other_seed, strict=True)) > 1e-2


@pytest.mark.parametrize("size", [1, 2, 3, 50, 96, 128])
def test_batch_shards_give_the_cnns_outputs_loss_and_gradient(size: int) -> None:
    # The same images in the same order through the same weights: the same outputs, loss and
    # gradient, summed in another order. 1e-5 of each tensor's scale is float32 rounding over
    # terms that cancel (1.2e-9 on a 1e-3 gradient measured); a wrong slice (an image lost,
    # repeated or reordered) moves them by 1e-2 or more. Batches smaller than the shard
    # count (1 and 2 with 3 shards) are padded with blank images, whose outputs are dropped.
    rng = np.random.default_rng(size)
    x = tf.constant(rng.random((size, 28, 28, 1), dtype=np.float32))
    y = tf.constant(np.eye(10, dtype=np.float32)[rng.integers(0, 10, size)])
    seed_everything(3)
    cnn = build_cnn(dropout_rate=0.0)
    loss = keras.losses.CategoricalCrossentropy()

    def outputs_and_gradient(model: keras.Model | keras.layers.Layer) -> tuple[np.ndarray, list[np.ndarray]]:
        with tf.GradientTape() as tape:
            probabilities = model(x, training=True)
            value = loss(y, probabilities)
        return probabilities.numpy(), [g.numpy() for g in tape.gradient(value, cnn.trainable_variables)]

    whole, gradient = outputs_and_gradient(cnn)
    for shards in (2, 3):
        sharded, sharded_gradient = outputs_and_gradient(BatchShards(cnn, shards))
        assert sharded.shape == (size, 10)
        np.testing.assert_allclose(sharded, whole, rtol=1e-5, atol=1e-7)
        for got, expected in zip(sharded_gradient, gradient, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    if size >= 2:  # the check above can fail: outputs of swapped halves are far apart
        swapped = np.concatenate([sharded[size // 2 :], sharded[: size // 2]])
        assert np.abs(swapped - whole).max() > 1e-4


def test_batch_shards_train_reproducibly_and_return_the_articles_cnn() -> None:
    # 193 images in batches of 32: the last batch has one image, fewer than the 2 shards.
    weights, history, _ = _tiny_training(5, 4, batch_shards=2, images=193)
    again, history_again, _ = _tiny_training(5, 4, batch_shards=2, images=193)
    assert history == history_again
    for first, second in zip(weights, again, strict=True):
        np.testing.assert_array_equal(first, second)  # same seed => same bits, shards or not
    # The CNN returned (saved, evaluated) is the article's: its own weights, nothing added.
    assert [w.shape for w in weights] == [w.shape for w in build_cnn(dropout_rate=0.1).get_weights()]
    # Another seed trains other weights: the equality above could fail.
    other, _, _ = _tiny_training(6, 4, batch_shards=2, images=193)
    assert max(np.abs(a - b).max() for a, b in zip(weights, other, strict=True)) > 1e-2


def test_batch_shards_must_be_positive() -> None:
    with pytest.raises(ValueError, match="shards must be >= 1, got 0"):
        BatchShards(build_cnn(dropout_rate=0.0), 0)


@pytest.mark.slow
def test_threads_for_shards_split_the_cores_before_tensorflow_starts() -> None:
    # Thread counts are fixed when TensorFlow initialises: a fresh process each.
    code = """
import json, os, sys
from uncertainty.models.runtime import set_threads_for_shards
print(json.dumps({"cores": len(os.sched_getaffinity(0)), "threads": set_threads_for_shards(int(sys.argv[1]))}))
"""
    for shards in (1, 2):
        result = subprocess.run(
            [sys.executable, "-c", code, str(shards)], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        record = json.loads(result.stdout.splitlines()[-1])
        if shards == 1:  # TensorFlow's defaults: 0 = one thread per core
            assert record["threads"] == {"intra_op": 0, "inter_op": 0}
        else:
            assert record["threads"] == {"intra_op": max(1, record["cores"] // 2), "inter_op": 2}


@pytest.mark.slow
def test_training_under_mirrored_strategy_on_two_logical_cpus() -> None:
    # Logical devices must be configured before TensorFlow initialises: a fresh process.
    code = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from uncertainty.models.cnn import build_cnn
from uncertainty.core.errors import PipelineError
from uncertainty.models.runtime import get_strategy
from uncertainty.models.training import evaluate, train_cnn
strategy = get_strategy("mirrored")
assert strategy.replicas == 2, strategy.replicas
rng = np.random.default_rng(0)
x = rng.random((65, 28, 28, 1), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 65)]
# 65 images in batches of 32: the last batch of 1 image leaves one replica none (oneDNN
# rejects a convolution over zero images; BatchShards pads it). 33 validation images:
# Keras averages the first batch's slices over the replicas, which 17 + 16 would fail.
for shards in (1, 2):
    model, history, _ = train_cnn(0.1, 1, (x, y), (x[:33], y[:33]), 1, 32, 0.001, "mirrored", batch_shards=shards, verbose=0)
    test = evaluate(model, (x[:33], y[:33]), None, "mirrored")
    single = build_cnn(dropout_rate=0.0)  # the trained weights on one device: the reference loss and accuracy
    single.set_weights(model.get_weights())
    probs = single.predict(x[:33], verbose=0)
    loss = np.mean(-np.log(np.sum(probs * y[:33], axis=1)))
    accuracy = np.mean(probs.argmax(1) == y[:33].argmax(1))
    # Each replica runs a smaller batch, so oneDNN may round differently (test_mc's tolerance).
    for value in (history["val_loss"][0], test["loss"]):
        assert abs(value - loss) < 1e-5, (shards, value, loss)
    for value in (history["val_accuracy"][0], test["accuracy"]):
        assert abs(value - accuracy) < 1e-6, (shards, value, accuracy)
for batch_size, validation in ((33, 33), (32, 1)):
    try:
        train_cnn(0.1, 1, (x, y), (x[:validation], y[:validation]), 1, batch_size, 0.001, "mirrored", verbose=0)
    except PipelineError as error:
        print("error:", error)
    else:
        raise AssertionError(f"no error for batch {batch_size}, {validation} validation images")
print("replicas", strategy.replicas)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2" in result.stdout
    assert "train.batch_size 33 does not split evenly over the 2 replicas" in result.stdout
    assert "1 evaluation images cannot be split over 2 replicas" in result.stdout


def test_mc_engine_under_mirrored_strategy_gives_the_single_device_passes() -> None:
    code = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from uncertainty.models.mc import MCDropout
from uncertainty.models.cnn import build_cnn
from uncertainty.models.runtime import seed_everything
seed_everything(4)
model = build_cnn(dropout_rate=0.2)
x = np.random.default_rng(0).random((9, 28, 28, 1), dtype=np.float32)
mirrored = MCDropout(model, 84, chunk_passes=4, batch_size=9, strategy="mirrored")
assert mirrored.strategy.replicas == 2
a = mirrored.sample(x, 6)
b = MCDropout(model, 84, chunk_passes=4, batch_size=9).sample(x, 6)
assert a.shape == (6, 9, 10)
# Each replica runs a smaller batch, so oneDNN may sum in another order: same masks, not same
# bits (1.5e-8 apart measured on an AVX2 CPU). The tolerance is test_mc.PROBABILITY_ATOL.
assert np.abs(a - b).max() <= 1e-6, np.abs(a - b).max()
c = MCDropout(model, 85, chunk_passes=4, batch_size=9).sample(x, 6)
assert np.abs(c - b).max() > 1e-4  # another seed's masks are far outside the tolerance
print("same passes over 2 replicas")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same passes over 2 replicas" in result.stdout
