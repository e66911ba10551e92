"""Temperature scaling: calibrated probabilities keep T near 1, sharpened ones get T back, halves never see their own T."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_verdicts import calibrated
from uncertainty.methods import temperature as ts


def test_calibrated_probabilities_get_temperature_near_one() -> None:
    probs, labels = calibrated(20000, 2)
    assert ts.fit_temperature(probs, labels) == pytest.approx(1.0, abs=0.03)


def test_overconfident_probabilities_get_temperature_above_one() -> None:
    probs, labels = calibrated(20000, 3)
    sharpened = ts.apply_temperature(probs, 0.5)  # what an overconfident model would say
    assert ts.fit_temperature(sharpened, labels) == pytest.approx(2.0, rel=0.05)


def test_cross_fitting_scores_each_half_with_the_other_halfs_temperature() -> None:
    probs, labels = calibrated(2000, 4)
    split = ts.halves(len(labels), 0)
    t_a, t_b = ts.cross_fit(probs, labels, split)
    scaled = ts.scale(probs, (t_a, t_b), split)
    a, b = split
    np.testing.assert_allclose(scaled[a], ts.apply_temperature(probs[a], t_b))
    np.testing.assert_allclose(scaled[b], ts.apply_temperature(probs[b], t_a))
    assert sorted(np.r_[a, b].tolist()) == list(range(2000))
    # Other images: the geometric mean of the two.
    np.testing.assert_allclose(ts.scale(probs, (t_a, t_b)), ts.apply_temperature(probs, np.sqrt(t_a * t_b)))


def test_a_leading_axis_of_rotations_keeps_each_image_in_its_half() -> None:
    probs, _ = calibrated(100, 5)
    split = ts.halves(1000, 1)  # the whole test set's halves, restricted to its first 100 images
    small = ts.restrict(split, 100)
    stacked = ts.scale(np.stack([probs, probs]), (0.5, 2.0), small)
    np.testing.assert_allclose(stacked[1], ts.scale(probs, (0.5, 2.0), small))
    a, _ = small
    np.testing.assert_allclose(stacked[0][a], ts.apply_temperature(probs[a], 2.0))


def test_bad_temperature_and_empty_input_are_value_errors() -> None:
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ts.apply_temperature(np.ones((1, 2)) / 2, 0.0)
    with pytest.raises(ValueError, match="need as many labels"):
        ts.fit_temperature(np.ones((0, 2)), np.array([], dtype=int))
