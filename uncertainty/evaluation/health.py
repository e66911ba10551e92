"""A model that has not learned is named, not judged: its accuracy beside chance and beside its training.

Every verdict of the report compares predictors built on trained CNNs; a CNN that has not learned
(or one whose inference-mode predictions are broken) makes every verdict on it meaningless, however
narrow its interval. The health stage measures, per model of train.models, and this module judges
(numpy only: the stage runs the network, uncertainty.models.modes):

* `chance`: the share of the test set's most frequent class, at least 1/K: what always answering one
  class scores;
* the test accuracy and the accuracy on the first health.train_images training images, both in
  inference mode (Dropout off, BatchNorm on its moving statistics), and, for a model with
  BatchNormalization, its training-mode accuracy on the same images (each batch normalized by its own
  mean and variance, Dropout still off);
* the training-time accuracy of the Keras history where the caller has it (set beside, not judged).

Three rules, each a problem with one sentence naming its likely cause:

* `chance`: test accuracy < chance + health.chance_margin. Default 0.1: on Fashion-MNIST (K = 10,
  chance 0.10) the article's CNNs reach 0.91; a model answering at random scores 0.10 ± 0.003 on
  10,000 test images (binomial standard error) and 0.10 ± 0.02 on the mnist run's 1,000, so a margin of
  0.1 is many standard errors above chance, while anything that has learned at all (even a linear
  model on these images: about 0.84) is far above it.
* `gap`: train accuracy (inference mode) − test accuracy > health.max_gap. Default 0.2: the committed
  Fashion-MNIST CNNs have gaps of 0.03 to 0.06 (test 0.90 to 0.91; inference mode on the first 2,000
  training images 0.95 to 0.97; the Keras history's running accuracy, dropout on, 0.93 to 0.96); even a
  small CNN trained to 100 % on these images keeps about 0.89 on the test set (a gap near 0.1), and 2,000
  training images estimate the train accuracy to about ± 0.01. A gap of 0.2 is a failure, not
  overfitting as usual: test images unlike the training images (another source or preprocessing), or
  a model that memorized a tiny training set.
* `batch_norm`: training-mode accuracy − inference-mode train accuracy > health.max_gap, on the same
  images. Settled moving statistics give the two within a point or two (a batch of 128 estimates the
  mean and variance well); moving statistics that have not settled (too few steps for the momentum,
  0.99 by default: about 460 steps to forget the initial mean 0 and variance 1 to 1 %) give inference-mode
  accuracy near chance while the training-mode accuracy, what the Keras history shows, is high.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

KINDS = ("chance", "gap", "batch_norm")  # the problems' kinds, in the order a record lists them


def class_counts(labels: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """How many labels of each class 0..K-1 (K entries)."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)[:num_classes]


def chance_level(counts: Sequence[int] | np.ndarray, num_classes: int) -> float:
    """The majority class's share of the labels, at least 1/K: what answering one class always scores."""
    counts = np.asarray(counts, dtype=np.float64)
    share = float(counts.max() / counts.sum()) if counts.size and counts.sum() > 0 else 0.0
    return max(share, 1.0 / num_classes)


def assess(
    num_classes: int,
    counts: Sequence[int] | np.ndarray,
    test_accuracy: float,
    train_accuracy: float,
    training_mode_accuracy: float | None = None,
    history_accuracy: float | None = None,
    *,
    chance_margin: float,
    max_gap: float,
) -> dict[str, Any]:
    """One model's record: `chance` (`chance_level` of the test labels' class `counts`), the accuracies as
    given (`train_accuracy` in inference mode; `training_mode_accuracy` for a model with BatchNorm, else
    None; `history_accuracy`, the Keras history's last epoch, only where given) and `problems`, a list of
    {"kind", "text"} in KINDS' order (module docstring)."""
    chance = chance_level(counts, num_classes)
    near_chance = test_accuracy < chance + chance_margin
    gap = train_accuracy - test_accuracy
    normalization = None if training_mode_accuracy is None else training_mode_accuracy - train_accuracy
    unsettled = normalization is not None and normalization > max_gap
    problems = []
    if near_chance:
        if unsettled:
            cause = "its inference-mode predictions are broken by BatchNorm (below)"
        elif train_accuracy < chance + chance_margin:
            cause = (
                "it has not learned its training images either: too few epochs or steps, a learning rate "
                "too high or too low, or labels that do not match the images"
            )
        else:
            cause = "it fits its training images but not the test images (below)"
        problems.append(
            {
                "kind": "chance",
                "text": f"test accuracy {test_accuracy:.2f} is within {chance_margin:g} of chance "
                f"({chance:.2f}): {cause}.",
            }
        )
    if gap > max_gap:
        problems.append(
            {
                "kind": "gap",
                "text": f"train accuracy {train_accuracy:.2f} (inference mode) exceeds test accuracy "
                f"{test_accuracy:.2f} by {gap:.2f} (more than {max_gap:g}): it memorized its training "
                "images, or the test images differ from them (another source or preprocessing).",
            }
        )
    if unsettled:
        problems.append(
            {
                "kind": "batch_norm",
                "text": f"training-mode accuracy {training_mode_accuracy:.2f} exceeds inference-mode "
                f"accuracy {train_accuracy:.2f} on the same training images by {normalization:.2f} "
                f"(more than {max_gap:g}): BatchNorm's moving statistics have not settled (train longer or "
                "with more steps, lower the BatchNorm momentum, or use the training-mode statistics).",
            }
        )
    record = {
        "num_classes": int(num_classes),
        "chance": chance,
        "test_accuracy": float(test_accuracy),
        "train_accuracy": float(train_accuracy),
        "batch_norm": training_mode_accuracy is not None,
        "training_mode_accuracy": None if training_mode_accuracy is None else float(training_mode_accuracy),
        "problems": problems,
    }
    if history_accuracy is not None:
        record["history_accuracy"] = float(history_accuracy)
    return record


def flagged(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The records (model -> record) with at least one problem, in their order."""
    return {name: record for name, record in records.items() if record.get("problems")}
