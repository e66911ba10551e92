"""The one registry of predictors: what each combines, how, and which scores it offers.

A predictor is declared once, in params.yaml's `predictors` section: its label, its
kind and the trained models it uses. Its kind (KINDS below) says how the inference
stage's per-model outputs become the predictor's output on a set of images:

* `softmax`: one CNN's softmax; one instance per model (independent trainings: seeds);
* `mc_dropout`: the mean of a dropout CNN's MC passes; one instance per model;
* `ensemble`: the mean of the members' softmaxes; one instance of all its models;
* `temperature`: predictor `of`, each instance scaled by the temperatures the temperature
  stage cross-fitted for it on the test set's halves.

An instance's output on a set is a mapping: `mean` (N, K) float64, the predictive
distribution, and where the predictor has several passes or members `mean_entropy`,
`variation_ratio`, `interval_width` (uncertainty.summaries). For the `rotated` set every
array has a leading angle axis. Every stage after inference builds the predictors here
and iterates them (numpy only: no TensorFlow after training).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.io import load_npz
from uncertainty.ood_inputs import OOD_SETS
from uncertainty.summaries import summarize_passes
from uncertainty.temperature import halves, restrict, scale

SETS = ("test", *OOD_SETS)  # the sets every instance has; `rotated` only where inferred

Output = dict[str, np.ndarray]


class Inference:
    """The inference stage's outputs, <directory>/<model>/<set>.npz, each file read once."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @functools.cache  # noqa: B019 (one Inference per stage run: the cache lives as long as it)
    def __call__(self, model: str, set_name: str) -> dict[str, np.ndarray]:
        return load_npz(self.directory / model / f"{set_name}.npz")

    def labels(self, model: str) -> np.ndarray:
        return self(model, "test")["labels"]


@dataclass
class Instance:
    """One trained instance of a predictor; `output(set)` is its output on that set."""

    name: str  # the trained model(s): "plain", "plain+ensemble_1+..."
    output: Callable[[str], Output]
    models: tuple[str, ...] = ()


@dataclass
class Predictor:
    name: str
    label: str
    kind: str
    scores: tuple[str, ...]
    instances: list[Instance] = field(default_factory=list)
    of: str | None = None  # a temperature-scaled predictor: the predictor it scales

    @property
    def first(self) -> Instance:
        """The article's instance (the first model listed): the one of the single-training tables."""
        return self.instances[0]

    def is_scaled_version_of(self, other: Predictor) -> bool:
        return self.of == other.name


SOFTMAX_SCORES = ("one_minus_max_prob", "entropy")


def _softmax(inference: Inference, model: str) -> Callable[[str], Output]:
    @functools.cache
    def output(set_name: str) -> Output:
        return {"mean": inference(model, set_name)["probs"].astype(np.float64)}

    return output


def _mc_dropout(inference: Inference, model: str) -> Callable[[str], Output]:
    def output(set_name: str) -> Output:
        return inference(model, set_name)

    return output


def _ensemble(inference: Inference, members: tuple[str, ...]) -> Callable[[str], Output]:
    @functools.cache
    def output(set_name: str) -> Output:
        stack = np.stack([inference(m, set_name)["probs"] for m in members])  # (M, [A,] N, K)
        if stack.ndim == 3:
            return summarize_passes(stack)
        per_angle = [summarize_passes(stack[:, a]) for a in range(stack.shape[1])]
        return {key: np.stack([s[key] for s in per_angle]) for key in per_angle[0]}

    return output


def _scaled(
    base: Instance, temperatures: tuple[float, float], split: tuple[np.ndarray, np.ndarray]
) -> Callable[[str], Output]:
    @functools.cache
    def output(set_name: str) -> Output:
        mean = base.output(set_name)["mean"]
        if set_name == "test":
            return {"mean": scale(mean, temperatures, split)}
        if set_name == "rotated":  # the first images of the test set: each keeps its half
            return {"mean": scale(mean, temperatures, restrict(split, mean.shape[-2]))}
        return {"mean": scale(mean, temperatures)}

    return output


@dataclass(frozen=True)
class Kind:
    scores: tuple[str, ...]
    one_instance_per_model: bool


KINDS = {
    "softmax": Kind(SOFTMAX_SCORES, True),
    "mc_dropout": Kind((*SOFTMAX_SCORES, "mutual_information", "variation_ratio", "interval_width"), True),
    "ensemble": Kind((*SOFTMAX_SCORES, "mutual_information", "variation_ratio"), False),
    "temperature": Kind(SOFTMAX_SCORES, True),
}


def temperature_halves(n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The test set's two seeded halves that temperatures are cross-fitted on (verdicts.seed)."""
    return halves(n_test, seed)


def build(
    params: Any,
    inference: Inference,
    temperatures: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> dict[str, Predictor]:
    """Every predictor of params.predictors, in order. Without `temperatures` (the temperature stage
    itself) the temperature-scaled predictors are left out."""
    built: dict[str, Predictor] = {}
    split = None
    for name, spec in params.predictors.items():
        kind = KINDS[spec.kind]
        predictor = Predictor(name, spec.label, spec.kind, kind.scores, of=spec.of)
        if spec.kind == "softmax":
            predictor.instances = [Instance(m, _softmax(inference, m), (m,)) for m in spec.models]
        elif spec.kind == "mc_dropout":
            predictor.instances = [Instance(m, _mc_dropout(inference, m), (m,)) for m in spec.models]
        elif spec.kind == "ensemble":
            members = tuple(spec.models)
            predictor.instances = [Instance("+".join(members), _ensemble(inference, members), members)]
        elif spec.kind == "temperature":
            if temperatures is None:
                continue
            base = built[spec.of]
            if split is None:
                split = temperature_halves(len(inference.labels(base.first.models[0])), params.verdicts.seed)
            predictor.instances = [
                Instance(
                    i.name,
                    _scaled(i, tuple(temperatures[spec.of][i.name][h] for h in HALVES), split),
                    i.models,
                )
                for i in base.instances
            ]
        built[name] = predictor
    return built


# temperature.json: predictor -> instance -> the T fitted on each half
HALVES = ("fitted_on_half_a", "fitted_on_half_b")
