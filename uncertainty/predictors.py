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


def ensemble_output(inference: Inference, members: tuple[str, ...]) -> Callable[[str], Output]:
    """The mean of the members' softmaxes on a set, with the spread of the members as its passes."""

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


@dataclass
class Context:
    """What a kind may use to build its instances: the inference outputs, the predictors built before
    it (in registry order), the fitted temperatures (None in the temperature stage itself), the params."""

    params: Any
    inference: Inference
    built: dict[str, Predictor]
    temperatures: Mapping[str, Mapping[str, Mapping[str, float]]] | None

    @functools.cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """The test set's two seeded halves that temperatures are cross-fitted on (verdicts.seed)."""
        first = next(iter(self.built.values())).first.models[0]
        return temperature_halves(len(self.inference.labels(first)), self.params.verdicts.seed)


def _softmax_instances(spec: Any, context: Context) -> list[Instance]:
    return [Instance(m, _softmax(context.inference, m), (m,)) for m in spec.models]


def _mc_dropout_instances(spec: Any, context: Context) -> list[Instance]:
    return [Instance(m, _mc_dropout(context.inference, m), (m,)) for m in spec.models]


def _ensemble_instances(spec: Any, context: Context) -> list[Instance]:
    members = tuple(spec.models)
    return [Instance("+".join(members), ensemble_output(context.inference, members), members)]


def _temperature_instances(spec: Any, context: Context) -> list[Instance] | None:
    if context.temperatures is None:
        return None  # the temperature stage: what it fits is not there yet
    fitted = context.temperatures[spec.of]
    return [
        Instance(i.name, _scaled(i, tuple(fitted[i.name][h] for h in HALVES), context.split), i.models)
        for i in context.built[spec.of].instances
    ]


@dataclass(frozen=True)
class Kind:
    """A kind of predictor: how it is declared (check_params enforces `cnns` and `fewest_models`),
    how its instances are built, the scores it offers and how the report describes it."""

    scores: tuple[str, ...]  # the uncertainty scores its outputs support
    cnns: str | None  # "plain" or "dropout": the trained models it takes; None: it scales predictor `of`
    instances: Callable[[Any, Context], list[Instance] | None]  # None: left out of this stage
    describe: Callable[[Any, Any], str]  # (its params entry, params) -> words for the report
    fewest_models: int = 1  # one instance per model needs 2 or more: an interval over seeds needs a spread
    options: tuple[str, ...] = ()  # the keys its params entry may set under `options`


KINDS: dict[str, Kind] = {
    "softmax": Kind(
        SOFTMAX_SCORES,
        "plain",
        _softmax_instances,
        lambda spec, p: f"the softmax of one CNN; {len(spec.models)} trainings ({', '.join(spec.models)})",
        fewest_models=2,
    ),
    "mc_dropout": Kind(
        (*SOFTMAX_SCORES, "mutual_information", "variation_ratio", "interval_width"),
        "dropout",
        _mc_dropout_instances,
        lambda spec, p: (
            f"the mean of T = {p.infer.mc_passes} MC dropout passes; "
            f"{len(spec.models)} trainings ({', '.join(spec.models)})"
        ),
        fewest_models=2,
    ),
    "ensemble": Kind(
        (*SOFTMAX_SCORES, "mutual_information", "variation_ratio"),
        "plain",
        _ensemble_instances,
        lambda spec, p: (
            f"the mean of M = {len(spec.models)} CNNs' softmaxes ({', '.join(spec.models)}): one ensemble"
        ),
    ),
    "temperature": Kind(
        SOFTMAX_SCORES,
        None,
        _temperature_instances,
        lambda spec, p: (
            f"{p.predictors[spec.of].label}, temperature-scaled (cross-fitted on the test set's halves)"
        ),
    ),
}


def temperature_halves(n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The test set's two seeded halves that temperatures are cross-fitted on (verdicts.seed)."""
    return halves(n_test, seed)


def build(
    params: Any,
    inference: Inference,
    temperatures: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> dict[str, Predictor]:
    """Every predictor of params.predictors, in order, each built by its kind. Without `temperatures`
    (the temperature stage itself) the temperature-scaled predictors are left out."""
    context = Context(params, inference, {}, temperatures)
    for name, spec in params.predictors.items():
        kind = KINDS[spec.kind]
        instances = kind.instances(spec, context)
        if instances is not None:
            context.built[name] = Predictor(name, spec.label, spec.kind, kind.scores, instances, of=spec.of)
    return context.built


# temperature.json: predictor -> instance -> the T fitted on each half
HALVES = ("fitted_on_half_a", "fitted_on_half_b")
