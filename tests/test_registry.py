"""The declarations every stage iterates: metrics, scores, input sets and jobs, each written once."""

from __future__ import annotations

import pytest

from uncertainty import metric_registry as registry
from uncertainty.predictors import KINDS
from uncertainty.vocabulary import INPUT_SETS, OWN_SCORE, SCORES, first_ood, ood_sets, use_data_sets


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
