"""Model builders, regressors and byte-stable save/load."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from uncertainty.cnn import build_cnn, load_cnn, save_cnn
from uncertainty.errors import PipelineError
from uncertainty.io import save_npz
from uncertainty.regressors import build_regressor, train_regressors
from uncertainty.runtime import seed_everything


def test_plain_cnn_has_the_articles_114954_parameters_and_no_dropout() -> None:
    model = build_cnn(0.0)
    assert model.count_params() == 114_954
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert model.output_shape == (None, 10)


def test_dropout_cnn_puts_dropout_after_each_pool_and_the_dense_layer() -> None:
    model = build_cnn(0.1)
    assert model.count_params() == 114_954  # dropout has no weights
    kinds = [type(layer).__name__ for layer in model.layers]
    dropout_after = [kinds[i - 1] for i, kind in enumerate(kinds) if kind == "Dropout"]
    assert dropout_after == ["MaxPooling2D", "MaxPooling2D", "MaxPooling2D", "Dense"]
    assert all(layer.rate == 0.1 for layer in model.layers if isinstance(layer, keras.layers.Dropout))


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_bad_dropout_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="dropout_rate"):
        build_cnn(rate)


def test_save_is_byte_stable_and_load_round_trips(tmp_path: Path) -> None:
    seed_everything(3)
    model = build_cnn(0.1)
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_cnn(first, model, {"dropout_rate": 0.1, "seed": 3})
    save_cnn(second, model, {"seed": 3, "dropout_rate": 0.1})
    assert first.read_bytes() == second.read_bytes()
    loaded, spec = load_cnn(first)
    assert spec == {"dropout_rate": 0.1, "seed": 3}
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model(x, training=False).numpy(), loaded(x, training=False).numpy())


def test_load_rejects_wrong_weights(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    spec = np.frombuffer(b'{"dropout_rate": 0.0}', dtype=np.uint8)
    save_npz(path, {"spec": spec, "weight_00": np.zeros((3, 3))})
    with pytest.raises(PipelineError, match="do not match"):
        load_cnn(path)


def test_same_seed_same_weights() -> None:
    seed_everything(5)
    a = build_cnn(0.0).get_weights()
    seed_everything(5)
    b = build_cnn(0.0).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_compiled_regressor_loop_learns_the_line_like_model_fit() -> None:
    x = np.arange(20, dtype=np.float32)[:, None]
    y = 2 * x + 1.5
    ours = {"he_uniform": build_regressor("he_uniform", 86)}
    train_regressors(x, y, ours, epochs=300, learning_rate=0.01)
    reference = build_regressor("he_uniform", 86)
    reference.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    reference.fit(x, y, epochs=300, batch_size=32, verbose=0, shuffle=False)
    point = np.array([[15.0]], np.float32)
    ours_at_15 = float(ours["he_uniform"](point)[0, 0])
    assert ours_at_15 == pytest.approx(float(reference(point)[0, 0]), abs=1e-3)
    assert abs(ours_at_15 - 31.5) < 1.0
