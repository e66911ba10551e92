"""The MC dropout engine: chunking never changes the masks, passes differ, plain passes do not.

What is exact and tested exactly: the dropout masks (integer hashes, whatever the
chunking), and two calls with the same shapes. What is not: the softmax of the
same pass computed in a chunk of another shape. oneDNN/XLA pick a kernel, and
with it a float summation order, per shape and per CPU (AVX2 and AVX-512 differ),
so those are compared with PROBABILITY_ATOL (see its comment).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from uncertainty.models.cnn import build_cnn
from uncertainty.models.mc import _SALT_INPUT, _SALT_LAYER, _SALT_PASS, _SALT_UNIT, MCDropout, dropout_uniform
from uncertainty.models.runtime import seed_everything

# Softmax probabilities of the same pass from chunks of other shapes. Measured: up to 2.2e-8
# apart on an AVX2-only CPU, identical on AVX-512 ones. float32 spacing at 1.0 is 1.2e-7, so
# 1e-6 is ~8 ulp: 45x the measured worst case, and 50x below the 5e-5 that could move any
# metric the pipeline writes with 4-decimal rounding. A wrong mask moves a probability by
# far more than this (the test below checks that too).
PROBABILITY_ATOL = 1e-6


def _hash32_np(x: np.ndarray) -> np.ndarray:
    """numpy twin of uncertainty.models.mc._hash32: an independent check of the mask hash."""
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def dropout_uniform_np(
    seed: int, layer: int, pass_ids: np.ndarray, input_ids: np.ndarray, units: int
) -> np.ndarray:
    """numpy twin of uncertainty.models.mc.dropout_uniform."""
    with np.errstate(over="ignore"):
        h = _hash32_np
        base = h(np.uint32(seed) ^ h(np.array(layer + _SALT_LAYER, dtype=np.uint32)))
        per_pass = h(base ^ h(np.asarray(pass_ids, dtype=np.uint32) + np.uint32(_SALT_PASS)))
        per_input = h(np.asarray(input_ids, dtype=np.uint32) + np.uint32(_SALT_INPUT))
        stream = h(per_pass[:, None] ^ per_input[None, :])
        unit = h(np.arange(units, dtype=np.uint32) + np.uint32(_SALT_UNIT))
        bits = h(stream[:, :, None] ^ unit[None, None, :])
    return (bits >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((12, 28, 28, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def dropout_model() -> keras.Sequential:
    seed_everything(1)
    return build_cnn(dropout_rate=0.3)


def test_two_chunk_sizes_give_the_same_passes(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    a = MCDropout(dropout_model, 84, chunk_passes=3, batch_size=5).sample(images, 10)
    b = MCDropout(dropout_model, 84, chunk_passes=10, batch_size=12).sample(images, 10)
    assert a.shape == (10, 12, 10)
    np.testing.assert_allclose(a, b, rtol=0, atol=PROBABILITY_ATOL)
    other_seed = MCDropout(dropout_model, 85, chunk_passes=10, batch_size=12).sample(images, 10)
    assert np.abs(other_seed - b).max() > 100 * PROBABILITY_ATOL  # the tolerance cannot hide another mask


def test_same_shapes_give_bit_identical_passes(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    a = MCDropout(dropout_model, 84, chunk_passes=3, batch_size=5).sample(images, 10)
    b = MCDropout(dropout_model, 84, chunk_passes=3, batch_size=5).sample(images, 10)
    np.testing.assert_array_equal(a, b)


def test_masks_do_not_depend_on_chunking() -> None:
    """The masks are exact: a chunk's uniforms are the matching slice of one big call."""
    whole = np.asarray(dropout_uniform(84, 2, np.arange(10), np.arange(12), 64))  # (passes, inputs, units)
    for passes in (range(0, 3), range(3, 10), range(7, 8)):
        for inputs in (range(0, 5), range(5, 12)):
            part = np.asarray(dropout_uniform(84, 2, np.array(list(passes)), np.array(list(inputs)), 64))
            np.testing.assert_array_equal(part, whole[passes.start : passes.stop, inputs.start : inputs.stop])


def test_passes_differ_and_sum_to_one(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    passes = MCDropout(dropout_model, 84).sample(images, 20)
    assert passes.std(axis=0).max() > 0
    np.testing.assert_allclose(passes.sum(axis=-1), 1.0, atol=1e-5)


def test_seed_decides_the_masks(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    a = MCDropout(dropout_model, 1).sample(images[:2], 4)
    b = MCDropout(dropout_model, 1).sample(images[:2], 4)
    c = MCDropout(dropout_model, 2).sample(images[:2], 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_first_pass_offsets_the_stream(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    sampler = MCDropout(dropout_model, 7)
    np.testing.assert_allclose(
        sampler.sample(images, 6)[3:], sampler.sample(images, 3, first_pass=3), rtol=0, atol=PROBABILITY_ATOL
    )


def test_plain_model_passes_are_identical_and_equal_predict(images: np.ndarray) -> None:
    seed_everything(2)
    plain = build_cnn(dropout_rate=0.0)
    passes = MCDropout(plain, 84).sample(images, 5)
    assert (passes == passes[0]).all()  # bit-identical passes
    np.testing.assert_allclose(passes[0], plain(images, training=False).numpy(), atol=1e-6)


def test_masks_match_keras_dropout_semantics(images: np.ndarray) -> None:
    """Mean over many passes of a linear model with dropout equals the no-dropout output."""
    seed_everything(3)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.5)])
    passes = MCDropout(model, 9, chunk_passes=100).sample(images[:2], 2000)  # (T, 2, 784)
    kept = passes != 0
    assert 0.48 < kept.mean() < 0.52  # keep probability 1 - rate
    np.testing.assert_allclose(
        passes[kept], 2 * np.broadcast_to(images[:2].reshape(1, 2, 784), passes.shape)[kept]
    )


def test_uniform_numbers_match_the_numpy_twin_and_look_uniform() -> None:
    keras_u = np.asarray(dropout_uniform(84, 1, np.arange(7), np.arange(5), 300))
    np_u = dropout_uniform_np(84, 1, np.arange(7), np.arange(5), 300)
    np.testing.assert_array_equal(keras_u, np_u)
    assert keras_u.min() >= 0 and keras_u.max() < 1
    assert abs(keras_u.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(keras_u[0].ravel(), keras_u[1].ravel())[0, 1]) < 0.05  # passes independent


def test_bad_arguments(dropout_model: keras.Sequential, images: np.ndarray) -> None:
    with pytest.raises(ValueError, match="passes"):
        MCDropout(dropout_model, 1).sample(images, 0)
    with pytest.raises(ValueError, match="empty"):
        MCDropout(dropout_model, 1).sample(images[:0], 3)
    with pytest.raises(ValueError, match="chunk_passes"):
        MCDropout(dropout_model, 1, chunk_passes=0)
