"""The words of the pipeline, declared once: each uncertainty score and each input set, with what a
reader is told about it. Metrics, tables, figures and the report take their labels from here.

Nothing here computes; it imports nothing, so editing a word re-runs only the stages that write
words (figures, report) and those that read the score declarations (evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """An uncertainty score (higher = more uncertain)."""

    label: str
    # where it comes from: "mean" (the predictive distribution), "passes" (the spread of several passes or
    # members, uncertainty.models.summaries), "read" (computed before, read from the predictor's output as is)
    source: str
    ood: bool  # its AUROC against each OOD set is measured over seeds (the verdicts stage)


SCORES: dict[str, Score] = {
    "one_minus_max_prob": Score("1 − max p", "mean", ood=False),
    "entropy": Score("entropy", "mean", ood=True),
    "mutual_information": Score("mutual information", "passes", ood=True),
    "variation_ratio": Score("variation ratio", "read", ood=False),
    "interval_width": Score("95 % interval width", "read", ood=False),
    "energy": Score("energy", "read", ood=True),
    "max_logit": Score("max logit", "read", ood=True),
    "feature_density": Score("feature density", "read", ood=True),
    "knn": Score("KNN distance", "read", ood=True),
    "vim": Score("ViM", "read", ood=True),
    "rmds": Score("relative Mahalanobis", "read", ood=True),
}
# A predictor's own OOD score (the one its method proposes, Predictor.ood_score), under one key.
OWN_SCORE = "own_score"
OWN_SCORE_LABEL = "each one's own score"


@dataclass(frozen=True)
class InputSet:
    """A set of images every predictor is run on."""

    label: str  # in a table's header: "MNIST"
    words: str  # in a sentence: "MNIST digits"


NOISE_SETS: dict[str, InputSet] = {  # every data's, made for its image shape (uncertainty.data.ood_inputs)
    "uniform_noise": InputSet("uniform noise", "uniform-noise images"),
    "gaussian_noise": InputSet("Gaussian noise", "Gaussian-noise images"),
}
MNIST_DIGITS = InputSet(
    "MNIST", "MNIST digits"
)  # the default data's own OOD set (uncertainty/data/sources/fashion_mnist.py)

# The test set, then the data's own OOD sets, then the noise: the default data's until a stage reads the
# data's description (uncertainty.data.dataset_info.read_info calls use_data_sets), in report order.
INPUT_SETS: dict[str, InputSet] = {
    "test": InputSet("test set", "the test images"),
    "mnist": MNIST_DIGITS,
    **NOISE_SETS,
}


def use_data_sets(own: dict[str, dict[str, str]], noise: bool = True) -> None:
    """The data's own OOD sets (name -> its "label" and "words") in place of the default data's, then the
    noise sets unless `noise` is False (saved predictions: only the sets the file holds)."""
    entries = {"test": INPUT_SETS["test"], **{n: InputSet(w["label"], w["words"]) for n, w in own.items()}}
    INPUT_SETS.clear()
    INPUT_SETS.update({**entries, **(NOISE_SETS if noise else {})})


def ood_sets() -> tuple[str, ...]:
    """Every OOD set, in report order: what each stage after inference iterates."""
    return tuple(name for name in INPUT_SETS if name != "test")


def first_ood() -> str:
    """The set the summary's OOD job, the quality-against-cost curves and the post-hoc questions use."""
    return ood_sets()[0]


def score_label(name: str) -> str:
    return OWN_SCORE_LABEL if name == OWN_SCORE else SCORES[name].label


def set_label(name: str) -> str:
    return INPUT_SETS[name].label
