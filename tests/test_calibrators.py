"""The calibrators beside temperature: each against a computation written here, and their predictor kinds
cross-fitted on the test set's halves as temperature is."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from tests.test_verdicts import calibrated
from uncertainty.evaluation import metrics
from uncertainty.methods import calibrators as cal
from uncertainty.methods import temperature as ts
from uncertainty.methods.predictors import KINDS, Instance
from uncertainty.methods.predictors import calibrated as calibrated_instance


def test_histogram_binning_is_each_bins_class_share_then_renormalized() -> None:
    probs, labels = calibrated(3000, 0)
    apply = cal.histogram_binning(probs, labels, cal.HistogramOptions(bins=7))
    new = np.random.default_rng(1).dirichlet(np.ones(10), 50)
    expected = np.empty_like(new)
    for k in range(10):  # a loop over images and bins, as Zadrozny & Elkan describe it
        for i, p in enumerate(new[:, k]):
            b = min(int(p * 7), 6)
            inside = [j for j in range(len(probs)) if min(int(probs[j, k] * 7), 6) == b]
            expected[i, k] = np.mean(labels[inside] == k) if inside else (b + 0.5) / 7
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(apply(new), expected, rtol=1e-12)


def test_an_image_every_map_sends_to_zero_gets_the_uniform_distribution() -> None:
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    labels = np.array([1, 1, 0, 0])  # every confident answer wrong: the maps send high p to 0
    apply = cal.isotonic(probs, labels, cal.NoOptions())
    out = apply(np.array([[0.95, 0.95]]))
    np.testing.assert_allclose(out, [[0.5, 0.5]])


def test_isotonic_is_scikit_learns_regression_per_class_renormalized() -> None:
    from sklearn.isotonic import IsotonicRegression

    probs, labels = calibrated(4000, 2)
    sharpened = ts.apply_temperature(probs, 0.5)  # overconfident
    apply = cal.isotonic(sharpened, labels, cal.NoOptions())
    new = np.random.default_rng(8).dirichlet(np.ones(10) * 0.5, (3, 40))  # a leading axis, as a shift set's
    columns = np.stack(
        [
            IsotonicRegression(out_of_bounds="clip")
            .fit(sharpened[:, k], labels == k)
            .predict(new[..., k].ravel())
            for k in range(10)
        ],
        axis=-1,
    ).reshape(new.shape)
    np.testing.assert_allclose(apply(new), columns / columns.sum(axis=-1, keepdims=True), rtol=1e-12)
    assert metrics.ece(apply(sharpened), labels, 15) < metrics.ece(sharpened, labels, 15) / 2


def test_vector_scaling_recovers_the_weights_and_biases_that_made_the_labels() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(10) * 0.7, 20000)
    w, b = rng.uniform(0.5, 1.5, 10), rng.normal(0, 0.3, 10)
    truth = scipy.special.softmax(np.log(probs) * w + b, axis=1)
    labels = np.array([rng.choice(10, p=p) for p in truth])
    apply = cal.vector_scaling(probs, labels, cal.NoOptions())
    assert np.abs(apply(probs) - truth).max() < 0.05
    # a superset of temperature: on the images it was fitted on its NLL is at most temperature's
    t = ts.fit_temperature(probs, labels)
    assert (
        metrics.nll_terms(apply(probs), labels).mean()
        <= metrics.nll_terms(ts.apply_temperature(probs, t), labels).mean() + 1e-9
    )


def test_vector_scaling_leaves_calibrated_probabilities_near_themselves() -> None:
    probs, labels = calibrated(20000, 4)
    assert np.abs(cal.vector_scaling(probs, labels, cal.NoOptions())(probs) - probs).max() < 0.05


def _instance(probs_by_set: dict[str, np.ndarray]) -> Instance:
    return Instance("m", lambda s: {"mean": probs_by_set[s]}, ("m",))


@pytest.mark.parametrize("kind", list(cal.CALIBRATORS))
def test_a_calibrator_kind_scores_each_half_with_the_other_halfs_map(kind: str) -> None:
    probs, labels = calibrated(600, 5)
    split = ts.halves(600, 0)
    ood = np.random.default_rng(6).dirichlet(np.ones(10), 40)
    shifted = np.stack([probs[:100], probs[:100] ** 2 / (probs[:100] ** 2).sum(axis=1, keepdims=True)])
    base = _instance({"test": probs, "mnist": ood, "rotated": shifted})
    declared = cal.CALIBRATORS[kind]
    found = calibrated_instance(base, declared, declared.options(), labels, split)
    a, b = split
    fitted_a = declared.fit(probs[a], labels[a], declared.options())
    fitted_b = declared.fit(probs[b], labels[b], declared.options())
    test = found.output("test")["mean"]
    np.testing.assert_array_equal(test[a], fitted_b(probs[a]))
    np.testing.assert_array_equal(test[b], fitted_a(probs[b]))
    np.testing.assert_array_equal(found.output("mnist")["mean"], (fitted_a(ood) + fitted_b(ood)) / 2)
    small_a, small_b = ts.restrict(split, 100)
    rotated = found.output("rotated")["mean"]
    np.testing.assert_array_equal(rotated[1][small_a], fitted_b(shifted[1][small_a]))
    np.testing.assert_array_equal(rotated[0][small_b], fitted_a(shifted[0][small_b]))
    assert found.halves is not None  # the conformal stage's maps: the next test
    assert not KINDS[kind].keeps_top_class and KINDS[kind].cnns is None  # judged on accuracy; scales `of`
    assert KINDS["temperature"].keeps_top_class


def test_each_half_is_fitted_once_whatever_the_sets_read() -> None:
    fits = []

    def counting(probs: np.ndarray, labels: np.ndarray, options: object) -> cal.Map:
        fits.append(len(probs))
        return lambda p: np.asarray(p, dtype=np.float64)

    probs, labels = calibrated(200, 7)
    base = _instance({"test": probs, "mnist": probs[:20]})
    declared = cal.Declared(counting, cal.NoOptions, "counting", False)
    found = calibrated_instance(base, declared, cal.NoOptions(), labels, ts.halves(200, 0))
    for set_name in ("test", "mnist", "test"):
        found.output(set_name)
    assert fits == [100, 100]  # the two halves, once
    assert found.halves is not None and len(found.halves.probs(probs)) == 2
    found.halves.probs(probs)
    assert fits == [100, 100, 50, 50]  # the conformal maps: fitted on quarters, once


def test_bad_calibration_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="need probs"):
        cal.isotonic(np.ones((3, 2)) / 2, np.array([0, 1]), cal.NoOptions())


def test_a_calibrators_conformal_sets_are_calibrated_on_images_its_map_never_saw() -> None:
    """Split conformal needs calibration scores exchangeable with the new images': a calibrator's map for the
    sets is fitted on every other image of the half, the sets calibrated on the rest."""
    from uncertainty.core.vocabulary import ood_sets
    from uncertainty.evaluation.coverage import HalfModel, Images, cross_fitted, side_of
    from uncertainty.methods import conformal

    probs, labels = calibrated(400, 9)
    split = ts.halves(400, 1)
    base = _instance({"test": probs})
    declared = cal.CALIBRATORS["histogram_binning"]
    found = calibrated_instance(base, declared, declared.options(), labels, split)
    assert found.halves is not None and found.halves.calibrating is not None
    for half, rest in zip(split, found.halves.calibrating, strict=True):
        np.testing.assert_array_equal(rest, half[1::2])
    fitted = [declared.fit(probs[half[0::2]], labels[half[0::2]], declared.options()) for half in split]
    for got, want in zip(found.halves.probs(probs), (m(probs) for m in fitted), strict=True):
        np.testing.assert_array_equal(got, want)
    model = HalfModel(lambda s: found.halves.probs(probs), found.halves.calibrating)  # type: ignore[union-attr]
    sides = {"test": side_of(split, 400), **{s: side_of(ts.halves(400, 2), 400) for s in ood_sets()}}
    images = Images(labels, sides, {}, {}, np.eye(10)[labels], np.zeros((1, 10)))
    options = {"score": "thr", "alpha": 0.1, "mondrian": False, "lam": 0.0, "k_reg": 0, "seed": 0}
    run = cross_fitted(model, images, options)
    for half, calibration in enumerate(run["calibrations"]):
        rest = split[half][1::2]
        expected = conformal.calibrate(fitted[half](probs)[rest], labels[rest], "thr", 0.1)
        assert calibration.threshold == expected.threshold
