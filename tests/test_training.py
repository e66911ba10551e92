"""Training: the input pipeline, and one step under MirroredStrategy on two logical CPUs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from uncertainty.training import make_dataset

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
model, history = train_cnn(0.1, 1, (x, y), (x[:32], y[:32]), 1, 32, 0.001, "mirrored", verbose=0)
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
