"""Keras on TensorFlow and on JAX: what is exact across backends, what agrees to round-off, and by how much.

This process runs TensorFlow (the default); one JAX process, with TensorFlow hidden as on a machine
without it (tests/no_tensorflow), computes the same things from the same committed weights and images.

* Exact: the MC dropout masks (integer hashes in keras.ops), and the batch order of `Batches`.
* Round-off: a CNN's softmax and MC dropout's passes. The two backends run the same float32 model
  through different kernels (oneDNN under TensorFlow, XLA's under JAX), which sum convolutions in
  other orders. Measured on an AVX-512 EPYC: at most 2.9e-6 apart on these MC passes (3.1e-6 on 700
  images x 30 passes), 2.0e-6 on the plain CNN's softmax; SOFTMAX_ATOL, 2e-5, is 6x the worst of
  those, a few dozen float32 ulps at 1.0, and
  still 2.5x below the 5e-5 that could move any metric the pipeline writes with 4 decimals. A wrong
  mask or weight moves probabilities by orders of magnitude more.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.pipeline import jax_env, make_repo
from tests.test_predictions import fashion_mnist_images
from uncertainty.core.errors import PipelineError
from uncertainty.models import runtime
from uncertainty.models.cnn import architecture, load_cnn, predict_probs
from uncertainty.models.mc import MCDropout, dropout_uniform
from uncertainty.models.training import Batches

ROOT = Path(__file__).resolve().parents[1]
SOFTMAX_ATOL = 2e-5
IMAGES, PASSES = 500, 20

# The JAX side: the same committed models on the same images, written to an npz.
JAX_SCRIPT = """
import sys, numpy as np, keras
assert keras.backend.backend() == "jax"
from tests.pipeline import jax_env, make_repo
from tests.test_predictions import fashion_mnist_images
from uncertainty.models.cnn import architecture, load_cnn, predict_probs
from uncertainty.models.mc import MCDropout, dropout_uniform
from uncertainty.models.runtime import seed_everything
from uncertainty.models.training import Batches, train_cnn
images = (fashion_mnist_images({images})[0][..., None] / 255.0).astype(np.float32)
build = architecture("uncertainty/models/cnn.py", "build_cnn", (28, 28, 1), 10)
out = {{"masks": np.asarray(dropout_uniform(84, 3, np.arange(30), np.arange(50), 700))}}
for name in ("plain", "dropout"):
    model, _ = load_cnn(f"models/{{name}}.npz", build)
    out[name] = predict_probs(model, images)
    out[name + "_mc"] = MCDropout(model, 84).sample(images, {passes})
out["order"] = np.stack([Batches(images, images, 64, seed=7).order() for _ in range(2)])
weights = []
for _ in range(2):  # the same seed twice: the same trained bits
    seed_everything(5)
    labels = np.eye(10, dtype=np.float32)[np.arange(96) % 10]
    model, _, _ = train_cnn(0.1, 5, (images[:96], labels), (images[:32], labels[:32]), 1, 32, 0.001, verbose=0)
    weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
out["weights"] = np.stack(weights)
np.savez(sys.argv[1], **out)
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


@pytest.fixture(scope="module")
def on_jax(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    output = tmp_path_factory.mktemp("jax") / "outputs.npz"
    code = JAX_SCRIPT.format(images=IMAGES, passes=PASSES)
    result = subprocess.run(
        [sys.executable, "-c", code, str(output)],
        cwd=ROOT,
        env=jax_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tensorflow imported: False" in result.stdout  # nothing of ours (or Keras') needed it
    with np.load(output) as arrays:
        return dict(arrays)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return (fashion_mnist_images(IMAGES)[0][..., None] / 255.0).astype(np.float32)


def committed(name: str) -> keras.Model:
    return load_cnn(
        ROOT / "models" / f"{name}.npz",
        architecture("uncertainty/models/cnn.py", "build_cnn", (28, 28, 1), 10),
    )[0]


def test_this_process_runs_tensorflow() -> None:
    assert runtime.BACKEND == "tensorflow" and runtime.TENSORFLOW


def test_mc_masks_are_bit_identical_across_backends(on_jax: dict[str, np.ndarray]) -> None:
    ours = np.asarray(dropout_uniform(84, 3, np.arange(30), np.arange(50), 700))
    np.testing.assert_array_equal(on_jax["masks"], ours)


@pytest.mark.parametrize("name", ["plain", "dropout"])
def test_a_cnns_softmax_agrees_across_backends(
    on_jax: dict[str, np.ndarray], images: np.ndarray, name: str
) -> None:
    ours = predict_probs(committed(name), images)
    gap = np.abs(on_jax[name] - ours).max()
    assert 0 < gap <= SOFTMAX_ATOL or gap == 0, gap
    assert (on_jax[name].argmax(1) == ours.argmax(1)).mean() >= 0.998  # a tie may flip at most one image


def test_mc_dropout_passes_agree_across_backends(on_jax: dict[str, np.ndarray], images: np.ndarray) -> None:
    for name in ("plain", "dropout"):
        ours = MCDropout(committed(name), 84).sample(images, PASSES)
        assert np.abs(on_jax[name + "_mc"] - ours).max() <= SOFTMAX_ATOL, name
    # The passes are really stochastic on both: the same masks drop the same units.
    assert on_jax["dropout_mc"].std(axis=0).max() > 0.01


def test_jax_training_repeats_bit_for_bit_from_its_seed(on_jax: dict[str, np.ndarray]) -> None:
    first, second = on_jax["weights"]
    np.testing.assert_array_equal(first, second)


def test_batches_reshuffle_each_epoch_from_the_seed_and_cover_every_image() -> None:
    x = np.arange(10, dtype=np.float32)[:, None]
    batches = Batches(x, x, 4, seed=3)
    epochs = []
    for _ in range(3):
        rows = np.concatenate([batches[i][0][:, 0] for i in range(len(batches))])
        assert sorted(rows) == list(range(10)) and [len(batches[i][0]) for i in range(3)] == [4, 4, 2]
        epochs.append(rows)
        batches.on_epoch_end()
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    again = Batches(x, x, 4, seed=3)
    np.testing.assert_array_equal(np.concatenate([again[i][0][:, 0] for i in range(3)]), epochs[0])
    np.testing.assert_array_equal(
        np.random.default_rng([3, 0]).permutation(10), epochs[0]
    )  # the documented order
    unshuffled = Batches(x, x, 4, split=5)  # evaluation over replicas: batches restart at the split
    assert [unshuffled[i][0][:, 0].tolist() for i in range(len(unshuffled))] == [
        [0, 1, 2, 3],
        [4],
        [5, 6, 7, 8],
        [9],
    ]


def test_batches_order_is_the_same_on_both_backends(
    on_jax: dict[str, np.ndarray], images: np.ndarray
) -> None:
    ours = Batches(images, images, 64, seed=7).order()
    np.testing.assert_array_equal(on_jax["order"], np.stack([ours, ours]))


def test_an_unsupported_backend_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "BACKEND", "torch")
    with pytest.raises(PipelineError) as error:
        runtime.get_strategy("default")
    assert str(error.value) == (
        "KERAS_BACKEND=torch: not supported by the pipeline; expected tensorflow (the default) or jax"
    )


def test_the_machine_record_names_the_backend() -> None:
    from uncertainty.core.machine import machine_info

    assert machine_info()["keras_backend"].startswith("tensorflow ")
    script = (
        "from uncertainty.core.machine import machine_info; import json; print(json.dumps(machine_info()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=jax_env(), capture_output=True, text=True
    )
    assert json.loads(result.stdout)["keras_backend"].startswith("jax ")


def test_mirrored_on_jax_trains_over_two_cpu_devices_and_samples_the_single_device_passes() -> None:
    """JAX's `mirrored` (Keras' DataParallel; one MC slice per device) over two CPU devices that XLA makes."""
    code = """
import numpy as np
from uncertainty.models.cnn import build_cnn
from uncertainty.models.mc import MCDropout
from uncertainty.models.runtime import get_strategy, seed_everything
from uncertainty.models.training import evaluate, train_cnn
assert get_strategy("mirrored").replicas == 2
rng = np.random.default_rng(0)
x = rng.random((65, 28, 28, 1), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 65)]
seed_everything(4)
model, history, _ = train_cnn(0.1, 1, (x, y), (x[:33], y[:33]), 1, 32, 0.001, "mirrored", verbose=0)
test = evaluate(model, (x[:33], y[:33]), None, "mirrored")
probs = np.asarray(model.predict(x[:33], verbose=0))
loss = np.mean(-np.log(np.sum(probs * y[:33], axis=1)))
accuracy = np.mean(probs.argmax(1) == y[:33].argmax(1))
assert abs(test["loss"] - loss) < 1e-5 and abs(test["accuracy"] - accuracy) < 1e-6, (test, loss, accuracy)
# The history's epoch mean counts the padded last batch's 2 rows (Batches): the 33rd image twice.
last = -np.log(np.sum(probs[32] * y[32]))
assert abs(history["val_loss"][0] - (loss * 33 + last) / 34) < 1e-5, (history, loss)
a = MCDropout(model, 84, chunk_passes=4, batch_size=9, strategy="mirrored").sample(x[:9], 6)
b = MCDropout(model, 84, chunk_passes=4, batch_size=9).sample(x[:9], 6)
assert np.abs(a - b).max() <= 1e-6 and a.std(axis=0).max() > 0, np.abs(a - b).max()
print("mirrored ok")
"""
    env = {**jax_env(), "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mirrored ok" in result.stdout


@pytest.mark.e2e
def test_the_tiny_pipeline_runs_end_to_end_on_jax_without_tensorflow(tmp_path: Path) -> None:
    """Every stage of the tiny params on JAX, training included, on a Python where TensorFlow cannot import."""
    repo = make_repo(tmp_path / "repo")
    environment = jax_env()
    result = subprocess.run(
        ["dvc", "repro"], cwd=repo, env=environment, capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    status = subprocess.run(["dvc", "status"], cwd=repo, env=environment, capture_output=True, text=True)
    assert "up to date" in status.stdout
    trained = [
        json.loads(path.read_text()) for path in sorted((repo / "reports/machine").glob("train_*.json"))
    ]
    assert len(trained) == 6 and all(
        record["machine"]["keras_backend"].startswith("jax ") for record in trained
    )
    assert all(record["threads"] == {} for record in trained)  # TensorFlow's thread pools: not on JAX
    history = (repo / "reports/plots/train_dropout.csv").read_text().splitlines()
    assert history[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and len(history) == 2
    verdicts = json.loads((repo / "reports/tables/verdicts.json").read_text())
    assert {"ensemble", "mc_dropout", "laplace"} <= verdicts.keys()
    assert "Keras on jax" in (repo / "reports/report.md").read_text()
