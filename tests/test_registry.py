"""The declarations every stage iterates: metrics, scores, input sets and jobs, each written once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from uncertainty.core.vocabulary import INPUT_SETS, OWN_SCORE, SCORES, first_ood, ood_sets, use_data_sets
from uncertainty.evaluation import corrupted, statistics
from uncertainty.evaluation import metric_registry as registry
from uncertainty.methods.predictors import KINDS
from uncertainty.models.summaries import summarize_passes


def test_the_data_declares_its_own_ood_sets_before_the_noise() -> None:
    assert (
        ood_sets() == ("mnist", "uniform_noise", "gaussian_noise") and first_ood() == "mnist"
    )  # the default data's
    use_data_sets({"letters": {"label": "EMNIST letters", "words": "handwritten letters"}})
    assert (
        list(INPUT_SETS) == ["test", "letters", "uniform_noise", "gaussian_noise"]
        and first_ood() == "letters"
    )
    assert INPUT_SETS["letters"].words == "handwritten letters"
    assert [job.key for job in registry.jobs()][3] == "detecting_letters"
    use_data_sets({})  # a user's file without OOD arrays: the noise alone
    assert ood_sets() == ("uniform_noise", "gaussian_noise") and first_ood() == "uniform_noise"


def test_every_kind_offers_declared_scores_only() -> None:
    for name, kind in KINDS.items():
        assert set(kind.scores) <= set(SCORES), name


def test_every_metric_is_declared_once_and_can_be_named() -> None:
    names = [metric.name for metric in registry.METRICS]
    assert len(names) == len(set(names)) and list(registry.BY_NAME) == names
    for metric in registry.METRICS:
        assert metric.scope in ("test", "score", "ood", "set"), metric.name
        assert metric.file in (None, "eval", "selective", "ood"), metric.name
        assert (
            metric.file is None
            or metric.scope == {"eval": "test", "selective": "score", "ood": "ood"}[metric.file]
        )
        path = {"test": (metric.name,), "score": (metric.name, "entropy"), "ood": (metric.name, first_ood(), OWN_SCORE),
                "set": (metric.name, first_ood())}[metric.scope]  # fmt: skip
        assert "{" not in registry.label(path), metric.name


def test_the_verdict_table_and_the_jobs_read_as_before() -> None:
    assert registry.verdict_paths(ood_sets()) == (
        ("accuracy",), ("nll",), ("brier",), ("ece",),
        *(("ood_auroc", s, OWN_SCORE) for s in ood_sets()),
        ("misclassification_auroc", "entropy"),
    )  # fmt: skip
    assert [job.key for job in registry.jobs()] == [
        "accuracy", "calibration_nll", "calibration_ece", "detecting_mnist", "refusing_uncertain_inputs",
    ]  # fmt: skip
    under = registry.jobs([3, 5])[len(registry.jobs()) :]  # then calibration under corruption, per severity
    assert [(job.key, job.paths()) for job in under] == [
        ("calibration_ece_corrupted_3", (("corrupted", "ece", "3"),)),
        ("calibration_ece_corrupted_5", (("corrupted", "ece", "5"),)),
    ]
    assert registry.label(("ood_auroc", "mnist", "entropy")) == "AUROC MNIST (entropy)"
    assert registry.label(("max_prob", "uniform_noise")) == "mean top probability, uniform noise"
    assert registry.BY_NAME["ood_fpr95"].header("mnist") == "FPR95 MNIST"


@pytest.mark.parametrize(("path", "higher"), [(("accuracy",), True), (("ece",), False), (("augrc", "entropy"), False),
                                              (("coverage_at_risk", "entropy"), True), (("max_prob", "mnist"), False)])  # fmt: skip
def test_each_metric_says_which_way_is_better(path: tuple[str, ...], higher: bool) -> None:
    assert registry.higher_is_better(path) == higher


INF = float("inf")
RANGES = {  # every metric's range by its definition (uncertainty.evaluation.metrics)
    "accuracy": (0.0, 1.0), "nll": (0.0, INF), "brier": (0.0, 2.0), "ece": (0.0, 1.0), "adaptive_ece": (0.0, 1.0),
    "ood_auroc": (0.0, 1.0), "ood_aupr": (0.0, 1.0), "ood_fpr95": (0.0, 1.0), "misclassification_auroc": (0.0, 1.0),
    "aurc": (0.0, 1.0), "augrc": (0.0, 1.0), "coverage_at_risk": (0.0, 1.0), "max_prob": (0.0, 1.0),
}  # fmt: skip


def test_every_metric_declares_the_range_of_its_values() -> None:
    """A metric's intervals are clipped to its range, so a new metric says what it is (this table with it)."""
    assert set(RANGES) == set(registry.BY_NAME)
    for name, expected in RANGES.items():
        assert registry.BY_NAME[name].bounds == expected, name
    assert registry.bounds(("ood_auroc", first_ood(), OWN_SCORE)) == (0.0, 1.0)
    assert registry.bounds(("corrupted", "nll", "5")) == (0.0, INF)


def test_every_metrics_values_lie_in_its_declared_range() -> None:
    """The kernels on random outputs, unit and resampled weights: never outside the declared range."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, 400)
    probs = rng.dirichlet(np.full(10, 0.3), 400)
    outputs = {"test": summarize_passes(np.stack([probs, rng.dirichlet(np.full(10, 0.3), 400)]))}
    outputs.update({s: summarize_passes(rng.dirichlet(np.ones(10), (2, 150))) for s in ood_sets()})
    found = registry.kernels(
        outputs.__getitem__, labels, ("entropy", "mutual_information"), 15, ood_sets(),
        chosen=lambda metric: True, own_score=False,
    )  # fmt: skip
    sizes = {"test": 400, **{s: 150 for s in ood_sets()}}
    assert {path[0] for path in found} == set(registry.BY_NAME)
    for weights in statistics.weight_rounds(sizes, 5, 8):
        for path, reduction in found.items():
            lowest, highest = registry.bounds(path)
            assert lowest <= reduction(weights) <= highest, path


def test_every_reduction_takes_a_block_of_resamples_as_each_row_alone() -> None:
    """The verdicts stage passes (R, N) weights per set: every metric's R values are each row's own value,
    the corrupted set's means over corruptions too: the binned and thresholded ones exactly (bin counts
    and cumulative sums in the same order), the rest to round-off (a dot product's order is BLAS's)."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 10, 300)
    outputs = {"test": summarize_passes(rng.dirichlet(np.full(10, 0.3), (3, 300)))}
    outputs.update({s: summarize_passes(rng.dirichlet(np.ones(10), (3, 120))) for s in ood_sets()})
    found = registry.kernels(
        outputs.__getitem__, labels, ("entropy", "mutual_information"), 15, ood_sets(),
        chosen=lambda metric: metric.bootstrap,
    )  # fmt: skip
    shifted = rng.dirichlet(np.full(10, 0.5), (6, 50))  # 3 corruptions x 2 severities, 50 images
    params = SimpleNamespace(corruptions=["a", "b", "c"], severities=[1, 2])
    found |= corrupted.kernels({"mean": shifted}, labels, 15, params)
    sizes, shift = {"test": 300, **{s: 120 for s in ood_sets()}}, {corrupted.SET: 50}
    rows = list(statistics.weight_rounds(sizes, 9, 5, shift))[1:]
    blocks = list(statistics.weight_blocks(sizes, 9, 5, shift, block=4))
    assert [b[0] for b in blocks] == [slice(1, 5), slice(5, 9), slice(9, 10)]
    for path, reduction in found.items():
        together = np.concatenate([reduction(weights) for _, weights in blocks])
        alone = np.array([reduction(weights) for weights in rows])
        np.testing.assert_allclose(together, alone, rtol=1e-13, atol=0, err_msg=str(path))
        if {"ece", "adaptive_ece", "coverage_at_risk"} & set(path):
            np.testing.assert_array_equal(together, alone, err_msg=str(path))
