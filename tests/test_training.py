"""Training: the input pipeline, and one step under MirroredStrategy on two logical CPUs."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.train_epoch import autotuned_dataset
from uncertainty.runtime import seed_everything
from uncertainty.training import make_dataset, train_cnn

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
    # The pipeline before issue 12 (tf.data's thread pool, AUTOTUNE): the same batches in the
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


def _tiny_training(seed: int, steps_per_execution: int) -> tuple[list[np.ndarray], dict, str]:
    rng = np.random.default_rng(0)
    x = rng.random((200, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 200)]
    seed_everything(seed)
    model, history, csv_text = train_cnn(
        0.1, seed, (x, y), (x[:50], y[:50]), 2, 32, 0.001, steps_per_execution=steps_per_execution, verbose=0
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


def test_one_training_step_under_mirrored_strategy_on_two_logical_cpus() -> None:
    # Logical devices must be configured before TensorFlow initialises: a fresh process.
    code = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from uncertainty.runtime import get_strategy
from uncertainty.training import train_cnn
strategy = get_strategy("mirrored")
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
rng = np.random.default_rng(0)
x = rng.random((64, 28, 28, 1), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
model, history, _ = train_cnn(0.1, 1, (x, y), (x[:32], y[:32]), 1, 32, 0.001, "mirrored", verbose=0)
assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
print("replicas", strategy.num_replicas_in_sync)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2" in result.stdout


def test_mc_engine_under_mirrored_strategy_gives_the_single_device_passes() -> None:
    code = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from uncertainty.mc import MCDropout
from uncertainty.cnn import build_cnn
from uncertainty.runtime import seed_everything
seed_everything(4)
model = build_cnn(0.2)
x = np.random.default_rng(0).random((9, 28, 28, 1), dtype=np.float32)
mirrored = MCDropout(model, 84, chunk_passes=4, batch_size=9, strategy="mirrored")
assert mirrored.strategy.num_replicas_in_sync == 2
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
