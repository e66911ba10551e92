"""Model builders, regressors and byte-stable save/load."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from uncertainty.core.errors import PipelineError
from uncertainty.core.io import save_npz
from uncertainty.models.cnn import build_cnn, load_cnn, save_cnn, swish
from uncertainty.models.regressors import build_regressor, train_regressors
from uncertainty.models.runtime import seed_everything


def test_plain_cnn_has_the_articles_114954_parameters_and_no_dropout() -> None:
    model = build_cnn(dropout_rate=0.0)
    assert model.count_params() == 114_954
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert model.output_shape == (None, 10)


def test_dropout_cnn_puts_dropout_after_each_pool_and_the_dense_layer() -> None:
    model = build_cnn(dropout_rate=0.1)
    assert model.count_params() == 114_954  # dropout has no weights
    kinds = [type(layer).__name__ for layer in model.layers]
    dropout_after = [kinds[i - 1] for i, kind in enumerate(kinds) if kind == "Dropout"]
    assert dropout_after == ["MaxPooling2D", "MaxPooling2D", "MaxPooling2D", "Dense"]
    assert all(layer.rate == 0.1 for layer in model.layers if isinstance(layer, keras.layers.Dropout))


# Edges of swish: its minimum near -1.278 (derivative 0), where sigmoid saturates in float32
# (|x| > ~17 and ~88), signed zeros, a subnormal, overflow of exp(-x), and non-finite values.
SWISH_EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1.2785, 17.0, -17.0, 88.7, -88.7, 104.0, -104.0]


def swish_inputs() -> np.ndarray:
    grid = np.linspace(-40.0, 40.0, 80_001)
    return np.concatenate([grid, SWISH_EDGES, [np.inf, -np.inf, np.nan]]).astype(np.float32)


def test_swish_forward_is_keras_swish_bit_for_bit() -> None:
    """Predictions of saved models must not depend on which swish built the CNN."""
    x = tf.constant(swish_inputs())
    np.testing.assert_array_equal(swish(x).numpy(), keras.activations.swish(x).numpy())
    # In a compiled graph TensorFlow rewrites x * sigmoid(x) into oneDNN ops: same bits too.
    seed_everything(7)
    ours = build_cnn(dropout_rate=0.0)
    keras_own = build_cnn(dropout_rate=0.0, activation="swish")
    keras_own.set_weights(ours.get_weights())
    images = np.random.default_rng(1).random((300, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(ours.predict(images, verbose=0), keras_own.predict(images, verbose=0))
    np.testing.assert_array_equal(ours(images).numpy(), keras_own(images).numpy())


def test_swish_gradient_is_the_derivative_to_float32_rounding() -> None:
    """dy * swish'(x) against float64; the bound is a few float32 roundings of each term.

    The y (dy - dy s) term carries dy s's rounding (half an ulp of dy) times |y| <= |x|,
    hence the |x| in the bound. TensorFlow's own gradient meets the same bound.
    """
    x_values = swish_inputs()
    x = tf.constant(x_values)
    dy = tf.constant(np.random.default_rng(2).normal(size=x_values.shape).astype(np.float32))

    def gradient(function) -> np.ndarray:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
        return tape.gradient(y, x, output_gradients=dy).numpy()

    finite = np.isfinite(x_values)
    x64, dy64 = x_values[finite].astype(np.float64), dy.numpy()[finite].astype(np.float64)
    sigmoid = 1.0 / (1.0 + np.exp(-x64))
    exact = dy64 * (sigmoid + x64 * sigmoid * (1.0 - sigmoid))
    bound = 4 * np.finfo(np.float32).eps * np.abs(dy64) * (1.0 + np.abs(x64))
    ours, theirs = gradient(swish), gradient(keras.activations.swish)
    for values in (ours, theirs):
        assert np.all(np.abs(values[finite] - exact) <= bound)
        assert np.all(np.isnan(values[~finite]))  # inf * 0 and nan, as TensorFlow's
    # Far from the minimum the derivative is well away from 0: relative agreement.
    ours, theirs = ours[finite], theirs[finite]
    away = np.abs(x64 + 1.2785) > 0.1
    np.testing.assert_allclose(ours[away], theirs[away], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_bad_dropout_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="dropout_rate"):
        build_cnn(dropout_rate=rate)


def test_save_is_byte_stable_and_load_round_trips(tmp_path: Path) -> None:
    seed_everything(3)
    model = build_cnn(dropout_rate=0.1)
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_cnn(first, model, {"dropout_rate": 0.1, "seed": 3})
    save_cnn(second, model, {"seed": 3, "dropout_rate": 0.1})
    assert first.read_bytes() == second.read_bytes()
    loaded, spec = load_cnn(first, lambda rate: build_cnn(dropout_rate=rate))
    assert spec == {"dropout_rate": 0.1, "seed": 3}
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model(x, training=False).numpy(), loaded(x, training=False).numpy())


def test_load_rejects_wrong_weights(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    spec = np.frombuffer(b'{"dropout_rate": 0.0}', dtype=np.uint8)
    save_npz(path, {"spec": spec, "weight_00": np.zeros((3, 3))})
    with pytest.raises(PipelineError, match="do not match"):
        load_cnn(path, lambda rate: build_cnn(dropout_rate=rate))


def test_same_seed_same_weights() -> None:
    seed_everything(5)
    a = build_cnn(dropout_rate=0.0).get_weights()
    seed_everything(5)
    b = build_cnn(dropout_rate=0.0).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.slow
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
