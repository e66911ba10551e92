"""Tests of uncertainty.report.plots: every figure is a PNG, reproducible to the byte, written atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.axes
import numpy as np
import pytest

from uncertainty.report.plots import evaluation, regression, softmax, training

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = [f"class {i}" for i in range(10)]


def _probs(rng: np.random.Generator, n: int, k: int = 10) -> np.ndarray:
    logits = rng.normal(size=(n, k))
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _bins(rng: np.random.Generator, n_bins: int = 10) -> dict[str, np.ndarray]:
    count = rng.integers(0, 50, size=n_bins)
    count[0] = 0  # an empty bin must be skipped, not drawn
    return {
        "edges": np.linspace(0, 1, n_bins + 1),
        "count": count,
        "accuracy": rng.uniform(size=n_bins),
        "confidence": rng.uniform(size=n_bins),
    }


def _roc(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    fpr = np.concatenate([[0.0], np.sort(rng.uniform(size=20)), [1.0]])
    tpr = np.maximum.accumulate(np.clip(fpr + rng.uniform(0, 0.3, size=fpr.shape), 0, 1))
    return fpr, tpr


def _calls() -> dict[str, Callable[[Path], None]]:
    """One call per public function, each drawing small random (seeded) inputs to `path`."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(30, 1))
    y = 2 * x + rng.normal(scale=0.1, size=(30, 1))
    grid = np.linspace(-3, 3, 50)
    predictions = {name: slope * grid for name, slope in [("glorot", 1.9), ("he", 2.1), ("zeros", 2.0)]}
    probs = _probs(rng, 30)
    labels = rng.integers(0, 10, size=30)
    image = rng.uniform(size=(28, 28, 1))
    samples = _probs(rng, 100)
    low, median, high = np.percentile(samples, [2.5, 50, 97.5], axis=0)
    angles = np.arange(0, 181, 30)
    shift = {
        quantity: {name: rng.uniform(size=angles.shape) for name in ("softmax", "dropout")}
        for quantity in ("accuracy", "nll", "ece", "entropy")
    }
    history = {
        "loss": [1.0, 0.7, 0.5],
        "val_loss": [1.1, 0.8, 0.7],
        "accuracy": [0.6, 0.75, 0.8],
        "val_accuracy": [0.55, 0.7, 0.72],
    }
    coverage = np.linspace(0.05, 1, 20)
    # Drawn here, not inside the lambdas, so both calls of a test see the same data.
    bins = {"softmax": _bins(rng), "dropout": _bins(rng)}
    roc = {"mnist": {"softmax": _roc(rng), "dropout": _roc(rng)}, "noise": {"softmax": _roc(rng)}}
    return {
        "linear_data": lambda p: regression.plot_linear_data(x, y, p),
        "regressors": lambda p: regression.plot_regressors(x, y, grid, predictions, p),
        "extrapolation": lambda p: regression.plot_extrapolation(x, y, grid, predictions, p),
        "softmax_grid": lambda p: softmax.plot_softmax_grid(probs, labels, CLASS_NAMES, p, "Test set", 3, 4),
        "noise_prediction": lambda p: softmax.plot_noise_prediction(image, probs[0], CLASS_NAMES, p, "Noise"),
        "interval": lambda p: softmax.plot_interval(probs[0], median, low, high, CLASS_NAMES, p, "Interval"),
        "reliability": lambda p: evaluation.plot_reliability(bins, p, {"softmax": 0.05, "dropout": 0.03}),
        "roc": lambda p: evaluation.plot_roc(
            roc, p, {"mnist": {"softmax": 0.7, "dropout": 0.8}, "noise": {"softmax": 0.9}}
        ),
        "risk_coverage": lambda p: evaluation.plot_risk_coverage(
            {"softmax": (coverage, 1 - 0.2 * coverage), "dropout": (coverage, 1 - 0.15 * coverage)}, p
        ),
        "shift": lambda p: evaluation.plot_shift(angles, shift, p),
        "history": lambda p: training.plot_history(history, p, "Training"),
        "quality_against_cost": lambda p: training.plot_quality_against_cost(
            {"passes": np.array([1, 3, 10]), "nll": np.array([0.5, 0.4, 0.35]), "nll_std": np.full(3, 0.01)},
            {"members": np.array([1, 2, 3]), "nll": np.array([0.4, 0.3, 0.28])},
            p,
            {"nll": "NLL"},
        ),
    }


CALLS = _calls()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_writes_reproducible_png_without_leftovers(name: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    CALLS[name](first)
    CALLS[name](second)

    data = first.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000
    assert second.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "second.png"]


def test_creates_missing_parent_directory(tmp_path: Path) -> None:
    target = tmp_path / "figures" / "nested" / "data.png"
    CALLS["linear_data"](target)
    assert target.read_bytes().startswith(PNG_SIGNATURE)


def test_overwrites_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "history.png"
    target.write_bytes(b"stale")
    CALLS["history"](target)
    assert target.read_bytes().startswith(PNG_SIGNATURE)


def test_different_data_gives_different_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(size=20)
    regression.plot_linear_data(x, x, tmp_path / "a.png")
    regression.plot_linear_data(x, -x, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


def _assert_rejected(call: Callable[[Path], None], tmp_path: Path, match: str) -> None:
    target = tmp_path / "bad.png"
    with pytest.raises(ValueError, match=match):
        call(target)
    assert list(tmp_path.iterdir()) == []


def test_softmax_grid_rejects_wrong_class_count(tmp_path: Path) -> None:
    probs = _probs(np.random.default_rng(0), 25, k=9)
    _assert_rejected(
        lambda p: softmax.plot_softmax_grid(probs, np.zeros(25, dtype=int), CLASS_NAMES, p, "t"),
        tmp_path,
        "probs",
    )


def test_softmax_grid_rejects_label_count_mismatch(tmp_path: Path) -> None:
    probs = _probs(np.random.default_rng(0), 25)
    _assert_rejected(
        lambda p: softmax.plot_softmax_grid(probs, np.zeros(24, dtype=int), CLASS_NAMES, p, "t"),
        tmp_path,
        "labels",
    )


def test_softmax_grid_with_fewer_samples_than_cells(tmp_path: Path) -> None:
    probs = _probs(np.random.default_rng(0), 3)
    target = tmp_path / "grid.png"
    softmax.plot_softmax_grid(probs, np.arange(3), CLASS_NAMES, target, "few", rows=2, cols=2)
    assert target.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("bad", ["plain", "median", "low", "high"])
def test_interval_rejects_wrong_class_count(bad: str, tmp_path: Path) -> None:
    arrays = {"plain": np.full(10, 0.1), "median": np.full(10, 0.1), "low": np.zeros(10), "high": np.ones(10)}
    arrays[bad] = arrays[bad][:9]
    _assert_rejected(
        lambda p: softmax.plot_interval(**arrays, class_names=CLASS_NAMES, path=p, title="t"), tmp_path, bad
    )


def test_interval_rejects_low_above_high(tmp_path: Path) -> None:
    low, high = np.full(10, 0.6), np.full(10, 0.4)
    _assert_rejected(
        lambda p: softmax.plot_interval(np.full(10, 0.1), np.full(10, 0.1), low, high, CLASS_NAMES, p, "t"),
        tmp_path,
        "low",
    )


def test_noise_prediction_rejects_bad_image(tmp_path: Path) -> None:
    _assert_rejected(
        lambda p: softmax.plot_noise_prediction(np.zeros((28, 28, 2)), np.full(10, 0.1), CLASS_NAMES, p, "t"),
        tmp_path,
        "image",
    )


def test_noise_prediction_draws_a_colour_image(tmp_path: Path) -> None:
    path = tmp_path / "colour.png"
    softmax.plot_noise_prediction(
        np.random.default_rng(0).random((12, 12, 3)), np.full(10, 0.1), CLASS_NAMES, path, "t"
    )
    assert path.stat().st_size > 0


def test_regressors_reject_prediction_of_wrong_length(tmp_path: Path) -> None:
    grid = np.linspace(0, 1, 10)
    _assert_rejected(
        lambda p: regression.plot_regressors(np.zeros(5), np.zeros(5), grid, {"m": np.zeros(9)}, p),
        tmp_path,
        "'m'",
    )


def test_linear_data_rejects_length_mismatch(tmp_path: Path) -> None:
    _assert_rejected(lambda p: regression.plot_linear_data(np.zeros(5), np.zeros(4), p), tmp_path, "y")


def test_reliability_rejects_missing_array(tmp_path: Path) -> None:
    table = _bins(np.random.default_rng(0))
    del table["confidence"]
    _assert_rejected(
        lambda p: evaluation.plot_reliability({"softmax": table}, p, {"softmax": 0.1}), tmp_path, "confidence"
    )


def test_reliability_rejects_count_edges_mismatch(tmp_path: Path) -> None:
    table = _bins(np.random.default_rng(0))
    table["count"] = table["count"][:-1]
    _assert_rejected(
        lambda p: evaluation.plot_reliability({"softmax": table}, p, {"softmax": 0.1}), tmp_path, "count"
    )


def test_roc_rejects_fpr_tpr_mismatch(tmp_path: Path) -> None:
    curves = {"mnist": {"softmax": (np.linspace(0, 1, 5), np.linspace(0, 1, 4))}}
    _assert_rejected(lambda p: evaluation.plot_roc(curves, p, {}), tmp_path, "tpr")


def test_shift_rejects_line_of_wrong_length(tmp_path: Path) -> None:
    values = {"accuracy": {"softmax": np.zeros(3)}}
    _assert_rejected(lambda p: evaluation.plot_shift(np.arange(4), values, p), tmp_path, "softmax")


def test_history_rejects_epoch_count_mismatch(tmp_path: Path) -> None:
    history = {"loss": [1.0, 0.5], "val_loss": [1.0]}
    _assert_rejected(lambda p: training.plot_history(history, p, "t"), tmp_path, "val_loss")


@pytest.mark.parametrize("name", ["regressors", "reliability", "roc", "risk_coverage", "shift"])
def test_empty_dict_is_rejected(name: str, tmp_path: Path) -> None:
    calls: dict[str, Callable[[Path], None]] = {
        "regressors": lambda p: regression.plot_regressors(np.zeros(3), np.zeros(3), np.zeros(4), {}, p),
        "reliability": lambda p: evaluation.plot_reliability({}, p, {}),
        "roc": lambda p: evaluation.plot_roc({}, p, {}),
        "risk_coverage": lambda p: evaluation.plot_risk_coverage({}, p),
        "shift": lambda p: evaluation.plot_shift(np.arange(3), {}, p),
    }
    _assert_rejected(calls[name], tmp_path, "empty")


def test_roc_legend_shows_the_given_auroc_not_the_drawn_curves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The figure prints ood.json's AUROC (all points), not the area under the down-sampled curve."""
    labels: list[str] = []
    original = matplotlib.axes.Axes.plot

    def record(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "label" in kwargs:
            labels.append(kwargs["label"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", record)
    curve = (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.9, 1.0]))  # trapezoid area 0.7: not what is shown
    evaluation.plot_roc(
        {"mnist": {"plain.entropy": curve}}, tmp_path / "a.png", {"mnist": {"plain.entropy": 0.8123}}
    )
    assert labels == ["plain.entropy (AUC 0.812)"]  # the metrics file's number, never recomputed
