"""The corruption library: determinism, identity, severity ordering, shapes, equality with scipy and numpy."""

import math

import numpy as np
import pytest
from scipy import ndimage

from uncertainty.data import corruptions
from uncertainty.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, parameter_table

NAMES = list(CORRUPTIONS)
# Those that draw nothing from the generator: the same output whatever the seed.
DETERMINISTIC = {"brightness", "stripe", "scale", "canny_edges"}


def synthetic_batch(count: int = 64, height: int = 28, width: int = 28, seed: int = 0) -> np.ndarray:
    """Fashion-MNIST-like gray images: a few bright rectangles on a dark background, softened edges."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, height, width), dtype=np.float32)
    for image in images:
        for _ in range(rng.integers(1, 4)):
            top, left = rng.integers(3, height - 10), rng.integers(3, width - 10)
            tall, wide = rng.integers(4, 12, size=2)
            patch = image[top : top + tall, left : left + wide]
            np.maximum(patch, rng.uniform(0.4, 1.0), out=patch)
    return np.clip(ndimage.gaussian_filter(images, (0, 1, 1)), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return synthetic_batch()


def test_the_fifteen_in_mnist_c_order_with_five_levels_each():
    assert NAMES == [
        "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale", "rotate", "brightness",
        "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges",
    ]  # fmt: skip
    assert SEVERITIES == (1, 2, 3, 4, 5)
    for name, corruption in CORRUPTIONS.items():
        assert corruption.name == name and len(corruption.levels) == 5
        assert corruption.parameter and corruption.source and "\n" not in corruption.source
        hash(corruption.levels)
    rows = parameter_table()
    assert [row["name"] for row in rows] == NAMES
    assert all(
        len(row["levels"]) == 5 and all(isinstance(level, str) for level in row["levels"]) for row in rows
    )


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_images_other_seed_other_images(name, clean):
    images = clean[:16]
    first = corrupt(images, name, 3, np.random.default_rng(7))
    again = corrupt(images, name, 3, np.random.default_rng(7))
    assert np.array_equal(first, again)
    other = corrupt(images, name, 3, np.random.default_rng(8))
    assert np.array_equal(first, other) == (name in DETERMINISTIC)


@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_is_an_exact_float32_copy(name, clean):
    images = clean[:8].astype(np.float64)
    out = corrupt(images, name, 0, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.array_equal(out, images.astype(np.float32))
    assert not np.shares_memory(out, images)


@pytest.mark.parametrize("name", NAMES)
def test_distance_to_clean_grows_with_severity(name, clean):
    distance = [
        float(np.abs(corrupt(clean, name, severity, np.random.default_rng(1)) - clean).mean())
        for severity in SEVERITIES
    ]
    assert (np.diff(distance) >= 0).all(), distance
    assert distance[-1] > distance[0] > 0, distance


@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 28, 28, 1), (2, 32, 24, 3)])
@pytest.mark.parametrize("name", NAMES)
def test_range_dtype_and_shape_kept(name, shape):
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 1, size=shape)
    for severity in SEVERITIES:
        out = corrupt(images, name, severity, rng)
        assert out.shape == shape and out.dtype == np.float32
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_rotate_is_scipy_rotate_by_the_level_with_both_signs(clean):
    for severity in SEVERITIES:
        degrees = math.degrees(CORRUPTIONS["rotate"].levels[severity - 1])
        out = corrupt(clean, "rotate", severity, np.random.default_rng(severity))
        signs = []
        for image, result in zip(clean, out):
            turned = {
                sign: ndimage.rotate(image, sign * degrees, reshape=False, order=1, mode="constant", cval=0.0)
                for sign in (-1, 1)
            }
            matches = [
                sign for sign, expected in turned.items() if np.array_equal(result, np.clip(expected, 0, 1))
            ]
            assert len(matches) == 1
            signs += matches
        assert set(signs) == {-1, 1}


def roll_with_zeros(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """np.roll with the wrapped-around part replaced by zeros."""
    rolled = np.roll(image, (rows, cols), axis=(0, 1))
    if rows > 0:
        rolled[:rows] = 0
    elif rows < 0:
        rolled[rows:] = 0
    if cols > 0:
        rolled[:, :cols] = 0
    elif cols < 0:
        rolled[:, cols:] = 0
    return rolled


def test_translate_is_roll_with_zero_fill_by_the_level_in_each_axis(clean):
    for severity in SEVERITIES:
        pixels = CORRUPTIONS["translate"].levels[severity - 1]
        out = corrupt(clean, "translate", severity, np.random.default_rng(severity))
        shifts = []
        for image, result in zip(clean, out):
            found = [
                (rows, cols)
                for rows in (-pixels, pixels)
                for cols in (-pixels, pixels)
                if np.array_equal(result, roll_with_zeros(image, rows, cols))
            ]
            assert len(found) == 1
            shifts += found
        assert len(set(shifts)) == 4


def test_roll_with_zeros_itself():
    image = np.arange(16.0).reshape(4, 4)
    assert np.array_equal(roll_with_zeros(image, 1, -2)[1:, :2], image[:3, 2:])
    assert not roll_with_zeros(image, 1, -2)[0].any() and not roll_with_zeros(image, 1, -2)[:, 2:].any()


def test_shot_noise_is_poisson_of_the_same_generator(clean):
    for severity in SEVERITIES:
        photons = CORRUPTIONS["shot_noise"].levels[severity - 1]
        out = corrupt(clean, "shot_noise", severity, np.random.default_rng(5))
        expected = np.clip(np.random.default_rng(5).poisson(clean * photons) / photons, 0, 1)
        assert np.array_equal(out, expected.astype(np.float32))


def test_impulse_noise_sets_the_level_fraction_half_to_one_half_to_zero():
    images = np.full((64, 28, 28), 0.5, dtype=np.float32)
    for severity in SEVERITIES:
        amount = CORRUPTIONS["impulse_noise"].levels[severity - 1]
        out = corrupt(images, "impulse_noise", severity, np.random.default_rng(severity))
        assert set(np.unique(out)) <= {0.0, 0.5, 1.0}
        assert abs((out == 1).mean() - amount / 2) < 0.005 and abs((out == 0).mean() - amount / 2) < 0.005


def test_glass_blur_without_swaps_is_scipy_gaussian_filter_twice(clean):
    images = clean[..., None]
    sigma = 0.9
    out = corruptions.glass_blur(images, (sigma, 2, 0), np.random.default_rng(0))
    once = ndimage.gaussian_filter(images, (0, sigma, sigma, 0), mode="nearest")
    assert np.array_equal(out, ndimage.gaussian_filter(once, (0, sigma, sigma, 0), mode="nearest"))


def test_glass_blur_swaps_permute_pixels_locally():
    # With sigma 0 the blurs are identities: what is left is the swaps, a permutation of each image.
    images = np.random.default_rng(0).permutation(28 * 28 * 4).reshape(4, 28, 28, 1).astype(np.float64)
    out = corruptions.glass_blur(images.copy(), (0, 2, 1), np.random.default_rng(1))
    assert not np.array_equal(out, images)
    for image, result in zip(images, out):
        assert np.array_equal(np.sort(image.ravel()), np.sort(result.ravel()))


def test_brightness_adds_the_level_and_clips(clean):
    for severity in SEVERITIES:
        level = CORRUPTIONS["brightness"].levels[severity - 1]
        out = corrupt(clean, "brightness", severity, np.random.default_rng(0))
        assert np.array_equal(out, np.clip(clean + np.float32(level), 0, 1))


def test_stripe_at_severity_3_is_mnist_c_outer_quarters_inverted(clean):
    expected = clean.copy()
    expected[:, :, :7] = 1 - expected[:, :, :7]
    expected[:, :, 21:] = 1 - expected[:, :, 21:]
    assert np.array_equal(corrupt(clean, "stripe", 3, np.random.default_rng(0)), expected)


def test_canny_edges_at_severity_5_outline_a_square():
    image = np.zeros((1, 28, 28), dtype=np.float32)
    image[0, 8:20, 8:20] = 1
    edges = corrupt(image, "canny_edges", 5, np.random.default_rng(0))[0]
    assert set(np.unique(edges)) == {0.0, 1.0}
    assert not edges[11:17, 11:17].any() and not edges[:5].any() and not edges[:, 23:].any()
    for line in (edges[6:10, 14], edges[18:22, 14], edges[14, 6:10], edges[14, 18:22]):
        assert line.sum() == 1  # one thin edge across each side


@pytest.mark.parametrize("name", ["rotate", "shear", "scale", "translate", "motion_blur", "glass_blur"])
def test_geometry_is_the_same_in_every_channel(name, clean):
    colour = np.repeat(clean[:16, :, :, None], 3, axis=3)
    out = corrupt(colour, name, 4, np.random.default_rng(3))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    gray = corrupt(clean[:16], name, 4, np.random.default_rng(3))
    assert np.array_equal(out[..., 0], gray)


@pytest.mark.parametrize(
    ("images", "name", "severity", "message"),
    [
        (np.zeros((2, 28, 28)), "blur", 1, "unknown corruption 'blur'; known: shot_noise, impulse_noise"),
        (np.zeros((2, 28, 28)), "rotate", 6, "severity must be an integer in 0..5, got 6"),
        (np.zeros((2, 28, 28)), "rotate", -1, "severity"),
        (np.zeros((2, 28, 28)), "rotate", 2.0, "severity"),
        (np.zeros((28, 28)), "rotate", 1, "images must be (N, H, W) or (N, H, W, C)"),
        (np.full((2, 28, 28), np.nan), "rotate", 1, "non-finite"),
        (np.full((2, 28, 28), 1.5), "rotate", 0, "images must be finite values in [0, 1], got 1.5..1.5"),
        (np.full((2, 28, 28), -0.1), "rotate", 1, "images must be finite values in [0, 1]"),
    ],
)
def test_bad_input_raises_naming_the_argument(images, name, severity, message):
    with pytest.raises(ValueError) as raised:
        corrupt(images, name, severity, np.random.default_rng(0))
    assert message in str(raised.value)
