"""MNIST-C's fifteen image corruptions (Mu & Gilmer 2019) at five severities, in numpy and scipy only.

MNIST-C's own code needs ImageMagick, OpenCV and skimage and mostly has one level per corruption;
ImageNet-C (Hendrycks & Dietterich 2019) has five. Each corruption here is a `Corruption` whose
`levels` are its five parameters, severity 1..5 in order, with `parameter` saying what a level means
and `source` where the five come from: ImageNet-C's table where ImageNet-C has the corruption,
otherwise MNIST-C's level placed at one severity and the others spaced around it. `parameter_table()`
lists them for the report.

`corrupt(images, name, severity, rng)` takes float images (N, H, W) or (N, H, W, C) in [0, 1] and
returns float32 of the same shape in [0, 1]; severity 0 is the identity. All randomness comes from the
generator passed in, so one seed gives bit-identical images. Every corruption is vectorized over the
batch and applies the same geometry to every channel of one image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Corruption:
    name: str
    levels: tuple  # five parameters, severity 1..5
    parameter: str  # what one level means
    source: str  # where the five levels come from, one line
    function: Callable  # (images float32 (N, H, W, C) in [0, 1], level, rng) -> the same shape


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur over the spatial axes only; edges extended as skimage.filters.gaussian does."""
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="nearest")


def _gather(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill_zero: bool) -> np.ndarray:
    """images[n, rows[n, i], cols[n, j]] for per-image integer rows (N, H) and cols (N, W).

    Outside the image: zero (fill_zero) or the nearest edge pixel (ImageMagick's default).
    """
    height, width = images.shape[1:3]
    index = np.arange(len(images))[:, None, None]
    out = images[index, np.clip(rows, 0, height - 1)[:, :, None], np.clip(cols, 0, width - 1)[:, None, :]]
    if fill_zero:
        inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
        out = out * inside[..., None]
    return out


def _by_random_sign(images: np.ndarray, rng: np.random.Generator, transform: Callable) -> np.ndarray:
    """transform(batch, sign) with a random sign per image, one vectorized call per sign."""
    signs = rng.choice((-1.0, 1.0), size=len(images))
    out = np.empty_like(images)
    for sign in (-1.0, 1.0):
        chosen = signs == sign
        if chosen.any():
            out[chosen] = transform(images[chosen], sign)
    return out


def _affine_about_centre(images: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """scipy.ndimage.affine_transform of the spatial axes (output -> input (row, col) map), zero fill."""
    centre = (np.asarray(images.shape[1:3], dtype=float) - 1) / 2
    full = np.eye(5)
    full[1:3, 1:3] = matrix
    full[1:3, 4] = centre - matrix @ centre  # keeps the centre fixed
    return ndimage.affine_transform(images, full, order=1, mode="constant", cval=0.0)


def _line_profile(distance: np.ndarray) -> np.ndarray:
    """MNIST-C's anti-aliased line: 1 on the line, log(1 - d / 2.3) + 1 falling to 0 about 1.5 px away."""
    distance = np.clip(distance, 0, 2.3 - 1e-10)
    return np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)


def _add_layer(images: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """A (N, H, W) layer added to every channel."""
    return images + layer[..., None]


def shot_noise(images, photons, rng):
    return rng.poisson(images * photons) / photons


def impulse_noise(images, amount, rng):
    # Each value independently, as skimage's random_noise(mode="s&p") that ImageNet-C calls.
    draw = rng.random(images.shape)
    return np.where(draw < amount / 2, 0.0, np.where(draw < amount, 1.0, images))


def glass_blur(images, level, rng):
    """Blur, swap every interior pixel with a random one up to max_delta away, blur again.

    ImageNet-C swaps pixels one after the other in raster order; here the interior is split into
    (2 max_delta + 1)^2 interleaved grids whose swap pairs cannot overlap, so each grid's swaps are one
    vectorized step (the same process with the visiting order changed). Offsets are drawn from
    [-max_delta, max_delta]; ImageNet-C's [-max_delta, max_delta - 1] drags pixels up and left.
    """
    sigma, delta, iterations = level
    out = _blur(images, sigma)
    height, width = out.shape[1:3]
    span = 2 * delta + 1
    index = np.arange(len(out))[:, None]
    for _ in range(iterations):
        for row_start in range(span):
            for col_start in range(span):
                rows = np.arange(delta + row_start, height - delta, span)
                cols = np.arange(delta + col_start, width - delta, span)
                if rows.size == 0 or cols.size == 0:
                    continue
                rows, cols = (a.ravel() for a in np.meshgrid(rows, cols, indexing="ij"))
                other_rows = rows + rng.integers(-delta, delta + 1, size=(len(out), rows.size))
                other_cols = cols + rng.integers(-delta, delta + 1, size=(len(out), cols.size))
                moved = out[index, rows, cols].copy()
                out[index, rows, cols] = out[index, other_rows, other_cols]
                out[index, other_rows, other_cols] = moved
    return _blur(out, sigma)


def motion_blur(images, level, rng):
    """ImageMagick's motion blur: a one-sided gaussian kernel of 2 ceil(radius) + 1 taps at integer
    offsets along a random angle in [-45, 45] degrees per image, edges extended."""
    radius, sigma = level
    taps = np.arange(2 * math.ceil(radius) + 1)
    weights = np.exp(-(taps**2) / (2 * sigma**2))
    weights /= weights.sum()
    angle = np.deg2rad(rng.uniform(-45, 45, size=len(images)))
    rows, cols = np.arange(images.shape[1]), np.arange(images.shape[2])
    out = np.zeros_like(images, dtype=np.float64)
    for tap, weight in zip(taps, weights):
        row_offset = np.rint(tap * np.sin(angle)).astype(int)[:, None]
        col_offset = np.rint(tap * np.cos(angle)).astype(int)[:, None]
        out += weight * _gather(images, rows + row_offset, cols + col_offset, fill_zero=False)
    return out


def shear(images, angle, rng):
    # skimage's AffineTransform(shear=angle) as MNIST-C's inverse map, in (row, col) order.
    return _by_random_sign(
        images,
        rng,
        lambda batch, sign: _affine_about_centre(
            batch, np.array([[math.cos(angle), 0.0], [-math.sin(sign * angle), 1.0]])
        ),
    )


def scale(images, factor, rng):
    # MNIST-C's inverse map scale=1/factor: the image shrinks to `factor` of its size about its centre.
    return _affine_about_centre(images, np.eye(2) / factor)


def rotate(images, radians, rng):
    degrees = math.degrees(radians)
    return _by_random_sign(
        images,
        rng,
        lambda batch, sign: ndimage.rotate(
            batch, sign * degrees, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0
        ),
    )


def brightness(images, amount, rng):
    # ImageNet-C adds to HSV value; for a gray image that is adding to the pixel, for colour it adds
    # the same amount to every channel here (hue kept, saturation not).
    return images + amount


def translate(images, pixels, rng):
    shifts = pixels * rng.choice((-1, 1), size=(len(images), 2))
    rows = np.arange(images.shape[1])[None, :] - shifts[:, :1]
    cols = np.arange(images.shape[2])[None, :] - shifts[:, 1:]
    return _gather(images, rows, cols, fill_zero=True)


def stripe(images, fraction, rng):
    # MNIST-C inverts the outer 7 of 28 columns on each side, leaving a clean vertical stripe in the middle.
    band = round(fraction * images.shape[2])
    out = images.copy()
    if band:
        out[:, :, :band] = 1 - out[:, :, :band]
        out[:, :, -band:] = 1 - out[:, :, -band:]
    return out


def _plasma(count: int, size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """ImageNet-C's diamond-square plasma fractal, one (size, size) map per image, each scaled to [0, 1]."""
    field = np.zeros((count, size, size))
    step, wibble = size, 100.0

    def wibbled_mean(total):
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = field[:, 0:size:step, 0:size:step]
        squares = corners + np.roll(corners, -1, axis=1)
        squares += np.roll(squares, -1, axis=2)
        field[:, half:size:step, half:size:step] = wibbled_mean(squares)
        centres = field[:, half:size:step, half:size:step]
        corners = field[:, 0:size:step, 0:size:step]
        across = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        field[:, 0:size:step, half:size:step] = wibbled_mean(across)
        down = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        field[:, half:size:step, 0:size:step] = wibbled_mean(down)
        step //= 2
        wibble /= decay
    field -= field.min(axis=(1, 2), keepdims=True)
    return field / field.max(axis=(1, 2), keepdims=True)


def fog(images, level, rng):
    strength, decay = level
    height, width = images.shape[1:3]
    # The smallest power-of-two map that covers the image (ImageNet-C crops a 256 map).
    size = 1 << (max(height, width) - 1).bit_length()
    layer = _plasma(len(images), size, decay, rng)[:, :height, :width]
    peak = images.max(axis=(1, 2, 3), keepdims=True)
    return _add_layer(images, strength * layer) * peak / (peak + strength)


def spatter(images, level, rng):
    """ImageNet-C's mud branch at every level, as MNIST-C (ImageNet-C's water levels need OpenCV)."""
    mean, spread, sigma, threshold, mask_sigma = level
    liquid = ndimage.gaussian_filter(
        rng.normal(mean, spread, size=images.shape[:3]), (0, sigma, sigma), mode="nearest"
    )
    mask = ndimage.gaussian_filter(
        (liquid > threshold).astype(float), (0, mask_sigma, mask_sigma), mode="nearest"
    )
    mask[mask < 0.8] = 0
    mud = np.array([63, 42, 20]) / 255 if images.shape[3] == 3 else np.full(images.shape[3], 63 / 255)
    return images * (1 - mask[..., None]) + mud * mask[..., None]


def dotted_line(images, count, rng):
    """`count` dotted lines across the image, end rows random (MNIST-C: one line, every other 2 columns off)."""
    height, width = images.shape[1:3]
    start, end = rng.integers(0, height - 1, size=(2, len(images), count, 1))
    cols = np.arange(width)
    curve = start + (end - start) / (width - 1) * cols  # (N, count, W): the line's row at each column
    layer = _line_profile(np.abs(np.arange(height)[:, None] - curve[:, :, None, :]))
    return _add_layer(images, (layer * ((cols // 2) % 2 == 1)).sum(axis=1))


def zigzag(images, count, rng):
    """`count` zigzags: MNIST-C's triangle wave (amplitude 2 px, period 8 px) along a random line from
    column 2 to column W - 3 that climbs or falls up to 5 rows."""
    height, width = images.shape[1:3]
    first, last = 2, width - 3
    start = rng.integers(0, height - 1, size=(len(images), count, 1))
    rise = rng.integers(-5, 5, size=(len(images), count, 1))
    cols = np.arange(width)
    wave = np.abs((cols - first - 2) % 8 - 4) - 2  # 0 at the start, +2 after 2 px, -2 after 6 px
    curve = start + rise / (last - first) * (cols - first) + wave
    layer = _line_profile(np.abs(np.arange(height)[:, None] - curve[:, :, None, :]))
    return _add_layer(images, (layer * ((cols >= first) & (cols <= last))).sum(axis=1))


def edge_map(planes: np.ndarray, sigma: float = 1.0, low: float = 0.1, high: float = 0.2) -> np.ndarray:
    """A Canny edge map of (M, H, W) planes: 0/1 float.

    Gaussian smoothing, Sobel gradient magnitude, non-maximum suppression along the gradient direction
    quantized to 0/45/90/135 degrees (one pixel wide), hysteresis: edges at or above `low` connected (8-neighbours) to one
    at or above `high`. Defaults as skimage.feature.canny on float images, which MNIST-C calls.
    """
    smooth = ndimage.gaussian_filter(planes.astype(float), (0, sigma, sigma), mode="constant")
    grad_rows, grad_cols = ndimage.sobel(smooth, axis=1), ndimage.sobel(smooth, axis=2)
    magnitude = np.hypot(grad_rows, grad_cols)
    sector = np.round(np.rad2deg(np.arctan2(grad_rows, grad_cols)) % 180 / 45).astype(int) % 4
    padded = np.pad(magnitude, ((0, 0), (1, 1), (1, 1)))
    height, width = planes.shape[1:]
    peak = np.zeros(planes.shape, dtype=bool)
    for k, (dr, dc) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        ahead = padded[:, 1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]
        behind = padded[:, 1 - dr : 1 - dr + height, 1 - dc : 1 - dc + width]
        # Strictly above the pixel ahead: of two equal neighbours across a symmetric step one is kept.
        peak |= (sector == k) & (magnitude > ahead) & (magnitude >= behind)
    weak = peak & (magnitude >= low)
    strong = peak & (magnitude >= high)
    within_plane = np.zeros((3, 3, 3), dtype=bool)
    within_plane[1] = True
    labels, _ = ndimage.label(weak, structure=within_plane)
    return (np.isin(labels, np.unique(labels[strong])) & weak).astype(np.float32)


def canny_edges(images, mix, rng):
    # MNIST-C replaces the image by its edge map; lower severities mix the two.
    count, height, width, channels = images.shape
    planes = images.transpose(0, 3, 1, 2).reshape(-1, height, width)
    edges = edge_map(planes).reshape(count, channels, height, width).transpose(0, 2, 3, 1)
    return (1 - mix) * images + mix * edges


_TABLE = (
    ("shot_noise", (60, 25, 12, 5, 3), "Poisson photons per unit intensity c: Poisson(x c) / c",
     "ImageNet-C table (MNIST-C uses severity 5)", shot_noise),
    ("impulse_noise", (0.03, 0.06, 0.09, 0.17, 0.27), "fraction of values replaced, half by 0, half by 1",
     "ImageNet-C table (MNIST-C uses severity 4)", impulse_noise),
    ("glass_blur", ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
     "(sigma px, max_delta px, iterations)", "ImageNet-C table in pixels, as MNIST-C applies it to 28x28 (its severity 1)",
     glass_blur),
    ("motion_blur", ((3.75, 1.125), (5.625, 1.875), (5.625, 3.0), (5.625, 4.5), (7.5, 5.625)),
     "(radius px, sigma px) of a one-sided kernel, random angle",
     "ImageNet-C table x 3/8: MNIST-C's sigma 3 px on 28x28 at severity 3", motion_blur),
    ("shear", (0.2, 0.4, 0.6, 0.8, 1.0), "shear angle, radians, random sign per image",
     "MNIST-C's five-level table (it uses severity 2)", shear),
    ("scale", (0.9, 0.8, 0.7, 0.6, 0.5), "size factor about the centre (MNIST-C's inverse map 1/factor)",
     "MNIST-C's five-level table (it uses severity 3)", scale),
    ("rotate", (0.2, 0.4, 0.6, 0.8, 1.0), "angle, radians, random sign per image (scipy.ndimage.rotate)",
     "MNIST-C's five-level table (it uses severity 2)", rotate),
    ("brightness", (0.1, 0.2, 0.3, 0.4, 0.5), "added to every pixel value (HSV value for gray)",
     "ImageNet-C table (MNIST-C uses severity 5)", brightness),
    ("translate", (1, 2, 3, 4, 5), "pixels in each axis, random sign per axis and image, zero fill",
     "MNIST-C's five-level table (it uses severity 3)", translate),
    ("stripe", (0.1, 0.175, 0.25, 0.325, 0.4), "fraction of the width inverted at each side",
     "MNIST-C's 7/28 at severity 3, others spaced linearly (3, 5, 7, 9, 11 of 28 columns)", stripe),
    ("fog", ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.75, 1.5), (3.0, 1.4)), "(strength, plasma wibble decay)",
     "ImageNet-C table (MNIST-C: 5) but strength 2.75 not 2.5 at 4: decay alone did not add distance", fog),
    ("spatter", ((0.65, 0.3, 1, 0.7, 1.5), (0.65, 0.3, 1, 0.68, 1.5), (0.65, 0.3, 1, 0.665, 1.5),
                 (0.65, 0.3, 1, 0.65, 1.5), (0.67, 0.4, 1, 0.65, 1.5)),
     "(noise mean, noise sd, blur sigma px, threshold, mask sigma px) of the mud blobs",
     "ImageNet-C's mud rows at 4, 5 (MNIST-C: 4); 1-3 own: higher thresholds, about 2, 5, 8% mud", spatter),
    ("dotted_line", (1, 2, 3, 4, 5), "number of dotted lines at random rows",
     "own: MNIST-C's one line at severity 1, one more per severity", dotted_line),
    ("zigzag", (1, 2, 3, 4, 5), "number of zigzags at random rows",
     "own: MNIST-C's one zigzag at severity 1, one more per severity", zigzag),
    ("canny_edges", (0.2, 0.4, 0.6, 0.8, 1.0), "weight of the edge map mixed with the image",
     "own: MNIST-C's pure edge map at severity 5, linear mix below", canny_edges),
)  # fmt: skip
CORRUPTIONS: dict[str, Corruption] = {row[0]: Corruption(*row) for row in _TABLE}


def corrupt(images: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """images float (N, H, W) or (N, H, W, C), values in [0, 1] -> float32 of the same shape, in [0, 1].

    Severity 0 returns an exact float32 copy. Raises ValueError naming the bad argument.
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"name: unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    if isinstance(severity, bool) or not isinstance(severity, int | np.integer) or not 0 <= severity <= 5:
        raise ValueError(f"severity must be an integer in 0..5, got {severity!r}")
    images = np.array(images, dtype=np.float32)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
    finite = np.isfinite(images)
    if not finite.all():
        raise ValueError(
            f"images must be finite values in [0, 1], got {np.count_nonzero(~finite)} non-finite"
        )
    if images.size and not (images.min() >= 0 and images.max() <= 1):
        raise ValueError(f"images must be finite values in [0, 1], got {images.min()}..{images.max()}")
    if severity == 0:
        return images
    stacked = images if images.ndim == 4 else images[..., None]
    corruption = CORRUPTIONS[name]
    out = corruption.function(stacked, corruption.levels[severity - 1], rng)
    return np.clip(out, 0, 1).astype(np.float32).reshape(images.shape)


def parameter_table() -> list[dict]:
    """One row per corruption: name, parameter, its five levels as strings, source."""
    return [
        {
            "name": c.name,
            "parameter": c.parameter,
            "levels": [str(level) for level in c.levels],
            "source": c.source,
        }
        for c in CORRUPTIONS.values()
    ]
