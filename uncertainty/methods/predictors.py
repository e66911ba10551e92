"""The one registry of predictors: what each combines, how, and which scores it offers.

A predictor is declared once, in params.yaml's `predictors` section: its label, its
kind and the trained models it uses. Its kind (KINDS below) says how the inference
stage's per-model outputs become the predictor's output on a set of images:

* `softmax`: one CNN's softmax; one instance per model (independent trainings: seeds);
* `mc_dropout`: the mean of a dropout CNN's MC passes; one instance per model;
* `ensemble`: the mean of the members' softmaxes; one instance of all its models, or (option
  `members`) one per disjoint group of that many, and in the verdicts every ensemble of that many
  its models form (uncertainty.evaluation.verdicts.pools);
* `temperature`: predictor `of`, each instance scaled by the temperatures the temperature
  stage cross-fitted for it on the test set's halves;
* `feature_density`: one CNN's softmax, judged on OOD by the density of its penultimate
  features under class-conditional Gaussians fitted on the training images (DDU);
* `laplace`: one CNN with a Gaussian posterior over its last layer fitted on the training
  images (last-layer Laplace), its predictive by one of four links (uncertainty.methods.laplace).

A kind that fits something on the training images (`Kind.posthoc`) is fitted once per model
by the posthoc stage, which writes its outputs per set; the kind's instances read them.

An instance's output on a set is a mapping: `mean` (N, K) float64, the predictive
distribution, where the predictor has several passes or members `mean_entropy`,
`variation_ratio`, `interval_width` (uncertainty.models.summaries), and any score read directly
(`energy`, `max_logit` from a CNN's logits, `feature_density`; uncertainty.evaluation.metrics). For a shift set (SHIFT_SETS:
`rotated`, `corrupted`) every array has a leading condition axis (angle; corruption and severity), over the
first n images of the test set. Every stage after inference builds the predictors here
and iterates them (numpy only: no TensorFlow after training).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.special
from pydantic import BaseModel, ConfigDict, Field

from uncertainty.core.errors import PipelineError
from uncertainty.core.io import load_npz
from uncertainty.methods.calibrators import CALIBRATORS, Declared, Map
from uncertainty.methods.temperature import apply_temperature, cross_apply, cross_fit, halves, restrict, scale
from uncertainty.models.summaries import summarize_passes

# The test set's first n images under each condition, (conditions, n, ...): where inferred (every plain CNN,
# the dropout CNNs of infer.shift_mc_models); each image keeps its test image's half.
SHIFT_SETS = ("rotated", "corrupted")

Output = dict[str, np.ndarray]


class Inference:
    """The inference stage's outputs, <directory>/<model>/<set>.npz, each file read once."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @functools.cache  # noqa: B019 (one Inference per stage run: the cache lives as long as it)
    def __call__(self, model: str, set_name: str) -> dict[str, np.ndarray]:
        return load_npz(self.directory / model / f"{set_name}.npz")

    def has(self, model: str, set_name: str) -> bool:
        """The model has outputs on the set (saved predictions may lack a shift set)."""
        return (self.directory / model / f"{set_name}.npz").is_file()

    def labels(self, model: str) -> np.ndarray:
        return self(model, "test")["labels"]

    @functools.cache  # noqa: B019 (as __call__: every ensemble holding the model reads them again)
    def logit_scores(self, model: str, set_name: str) -> Output:
        """The model's logit scores on a set (`logit_scores`), computed once."""
        return logit_scores(self(model, set_name)["logits"])


@dataclass
class Instance:
    """One trained instance of a predictor; `output(set)` is its output on that set."""

    name: str  # the trained model(s): "plain", "plain+ensemble_1+..."
    output: Callable[[str], Output]
    models: tuple[str, ...] = ()
    halves: HalfMaps | None = None  # a calibrated instance's maps for the conformal stage


def has_set(instances: Iterable[Instance], set_name: str) -> bool:
    """Every instance has outputs on the set: the corrupted images of a dropout CNN outside
    infer.shift_mc_models, or a shift set saved predictions leave out, have none."""
    try:
        for instance in instances:
            instance.output(set_name)
    except PipelineError:
        return False
    return True


@dataclass(frozen=True)
class HalfMaps:
    """A calibrated instance's maps for conformal sets cross-fitted on the test halves: `probs` -> those probs
    under the map the conformal calibration on half a may use, and on half b; `calibrating`: the test images
    of each half that calibrate the sets (None: all of them).

    Split conformal needs the calibration images' scores exchangeable with the new images': a map fitted on
    the calibration images themselves breaks that. One temperature barely moves them (the whole half fits it
    and calibrates); a calibrator with a parameter per bin and class fits its calibration images' labels, so
    its sets under-cover (measured: histogram binning 0.943 for the promised 0.95 with the whole half doing
    both). So a calibrator's map for the conformal sets is fitted on every other image of the half (the half
    is a seeded draw, so both are random quarters of the test set) and its sets calibrated on the rest."""

    probs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    calibrating: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class Predictor:
    name: str
    label: str
    kind: str
    scores: tuple[str, ...]
    instances: list[Instance] = field(default_factory=list)
    of: str | None = None  # a temperature-scaled predictor: the predictor it scales
    ood_score: str = "entropy"  # the score it is judged by in the verdict table's OOD rows

    @property
    def first(self) -> Instance:
        """The article's instance (the first model listed): the one of the single-training tables."""
        return self.instances[0]

    def is_scaled_version_of(self, other: Predictor) -> bool:
        return self.of == other.name


SOFTMAX_SCORES = ("one_minus_max_prob", "entropy")
LOGIT_SCORES = ("energy", "max_logit")  # from a CNN's logits (Liu et al. 2020), higher = more uncertain


def logit_scores(logits: np.ndarray) -> Output:
    """The energy −logsumexp(f) and minus the largest logit, (..., K) -> (...) each, float64."""
    f = np.asarray(logits, dtype=np.float64)
    return {"energy": -scipy.special.logsumexp(f, axis=-1), "max_logit": -f.max(axis=-1)}


def _softmax(inference: Inference, model: str) -> Callable[[str], Output]:
    @functools.cache
    def output(set_name: str) -> Output:
        arrays = inference(model, set_name)
        return {"mean": arrays["probs"].astype(np.float64), **inference.logit_scores(model, set_name)}

    return output


def _mc_dropout(inference: Inference, model: str) -> Callable[[str], Output]:
    def output(set_name: str) -> Output:
        arrays = inference(model, set_name)
        if (
            "mean" not in arrays
        ):  # the set was run with dropout off only (saved predictions without its passes)
            raise PipelineError(f"{inference.directory}/{model}/{set_name}.npz: no MC passes on this set")
        return arrays

    return output


def ensemble_output(inference: Inference, members: tuple[str, ...]) -> Callable[[str], Output]:
    """The mean of the members' softmaxes on a set, with the spread of the members as its passes; its
    logit scores are the members' means (each member's energy is on its own logits' scale)."""

    @functools.cache
    def output(set_name: str) -> Output:
        stack = np.stack([inference(m, set_name)["probs"] for m in members])  # (M, [A,] N, K)
        scores = [inference.logit_scores(m, set_name) for m in members]
        mean_scores = {name: np.mean([s[name] for s in scores], axis=0) for name in LOGIT_SCORES}
        if stack.ndim == 3:
            return {**summarize_passes(stack), **mean_scores}
        per_angle = [summarize_passes(stack[:, a]) for a in range(stack.shape[1])]
        return {**{key: np.stack([s[key] for s in per_angle]) for key in per_angle[0]}, **mean_scores}

    return output


def ensemble_mean(inference: Inference, members: tuple[str, ...]) -> Callable[[str], Output]:
    """`ensemble_output`'s mean alone, the same numbers (its float64 mean over the members), without the
    other summaries: what a temperature-scaled ensemble reads."""

    def output(set_name: str) -> Output:
        stack = np.stack([inference(m, set_name)["probs"] for m in members])
        return {"mean": stack.astype(np.float64).mean(axis=0)}

    return output


def scaled_output(
    base: Instance, temperatures: tuple[float, float], split: tuple[np.ndarray, np.ndarray]
) -> Callable[[str], Output]:
    @functools.cache
    def output(set_name: str) -> Output:
        mean = base.output(set_name)["mean"]
        if set_name == "test":
            return {"mean": scale(mean, temperatures, split)}
        if set_name in SHIFT_SETS:  # the first images of the test set: each keeps its half
            return {"mean": scale(mean, temperatures, restrict(split, mean.shape[-2]))}
        return {"mean": scale(mean, temperatures)}

    return output


def calibrated_output(
    base: Instance, maps: Callable[[], tuple[Map, Map]], split: tuple[np.ndarray, np.ndarray]
) -> Callable[[str], Output]:
    """As `scaled_output` for a calibrator: `maps()` gives the maps fitted on test halves a and b; a test image
    gets the other half's, an image outside the test set the mean of both."""

    @functools.cache
    def output(set_name: str) -> Output:
        mean = base.output(set_name)["mean"]
        fitted_a, fitted_b = maps()
        if set_name in ("test", *SHIFT_SETS):
            halves_here = split if set_name == "test" else restrict(split, mean.shape[-2])
            return {"mean": cross_apply(mean, fitted_a, fitted_b, halves_here)}
        return {"mean": (fitted_a(mean) + fitted_b(mean)) / 2}

    return output


def calibrated(
    base: Instance,
    declared: Declared,
    options: BaseModel,
    labels: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
) -> Instance:
    """`base` calibrated by a CALIBRATORS entry, cross-fitted on the test set's halves (fitted on first use)."""

    def fitted_on(parts: tuple[np.ndarray, np.ndarray]) -> Callable[[], tuple[Map, Map]]:
        @functools.cache
        def maps() -> tuple[Map, Map]:
            probs = base.output("test")["mean"]
            return tuple(declared.fit(probs[part], labels[part], options) for part in parts)  # type: ignore[return-value]

        return maps

    maps = fitted_on(split)
    # per half: (the images its conformal map is fitted on, those its sets are calibrated on); HalfMaps says why
    quarters = tuple((half[0::2], half[1::2]) for half in split)
    conformal_maps = fitted_on(tuple(fit for fit, _ in quarters))  # type: ignore[arg-type]

    def both(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(fitted(probs) for fitted in conformal_maps())  # type: ignore[return-value]

    halves = HalfMaps(both, tuple(rest for _, rest in quarters))  # type: ignore[arg-type]
    return Instance(base.name, calibrated_output(base, maps, split), base.models, halves)


def temperature_scaled(
    base: Instance, temperatures: tuple[float, float], split: tuple[np.ndarray, np.ndarray]
) -> Instance:
    """`base` scaled by the temperatures fitted on the test set's halves a and b."""

    def both(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(apply_temperature(probs, t) for t in temperatures)  # type: ignore[return-value]

    return Instance(base.name, scaled_output(base, temperatures, split), base.models, HalfMaps(both))


def recalibrated(
    spec: Any, base: Instance, labels: np.ndarray, split: tuple[np.ndarray, np.ndarray]
) -> Instance:
    """`base` calibrated by the kind of `spec` (temperature or a calibrator), fitted here on the halves: what the
    verdicts do for an instance no stage fitted (an ensemble pooled from the trainings)."""
    if spec.kind == "temperature":
        return temperature_scaled(base, cross_fit(base.output("test")["mean"], labels, split), split)
    declared = CALIBRATORS[spec.kind]
    return calibrated(base, declared, declared.options(**spec.options), labels, split)


def _fitted(
    name: str, inference: Inference, posthoc: Inference, model: str, keep_softmax: bool
) -> Callable[[str], Output]:
    """A post-hoc predictor's output: what the posthoc stage wrote for it (and the CNN's softmax outputs
    where the method keeps the CNN's classification)."""

    softmax = _softmax(inference, model)

    @functools.cache
    def output(set_name: str) -> Output:
        found = dict(posthoc(f"{name}/{model}", set_name))
        return {**softmax(set_name), **found} if keep_softmax else found

    return output


@dataclass
class Context:
    """What a kind may use to build its instances: the inference outputs, the predictors built before
    it (in registry order), the fitted temperatures (None in the temperature stage itself), the
    post-hoc methods' outputs (None before the posthoc stage), the params."""

    params: Any
    inference: Inference
    built: dict[str, Predictor]
    temperatures: Mapping[str, Mapping[str, Mapping[str, float]]] | None
    posthoc: Inference | None = None

    @functools.cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """The test set's two seeded halves that temperatures are cross-fitted on (verdicts.seed)."""
        first = next(iter(self.built.values())).first.models[0]
        return temperature_halves(len(self.inference.labels(first)), self.params.verdicts.seed)


def _softmax_instances(name: str, spec: Any, context: Context) -> list[Instance]:
    return [Instance(m, _softmax(context.inference, m), (m,)) for m in spec.models]


def _mc_dropout_instances(name: str, spec: Any, context: Context) -> list[Instance]:
    return [Instance(m, _mc_dropout(context.inference, m), (m,)) for m in spec.models]


def ensemble_groups(spec: Any) -> list[tuple[str, ...]]:
    """An ensemble predictor's disjoint ensembles: its models in consecutive groups of `members` (all by default)."""
    size = spec.options.get("members") or len(spec.models)
    return [tuple(spec.models[start : start + size]) for start in range(0, len(spec.models), size)]


def _ensemble_instances(name: str, spec: Any, context: Context) -> list[Instance]:
    return [
        Instance("+".join(group), ensemble_output(context.inference, group), group)
        for group in ensemble_groups(spec)
    ]


def _posthoc_instances(keep_softmax: bool) -> Callable[[str, Any, Context], list[Instance] | None]:
    def instances(name: str, spec: Any, context: Context) -> list[Instance] | None:
        if context.posthoc is None:
            return None  # the posthoc stage itself: what it fits is not there yet
        return [
            Instance(m, _fitted(name, context.inference, context.posthoc, m, keep_softmax), (m,))
            for m in spec.models
        ]

    return instances


def _temperature_instances(name: str, spec: Any, context: Context) -> list[Instance] | None:
    if context.temperatures is None:
        return None  # the temperature stage: what it fits is not there yet
    fitted = context.temperatures[spec.of]
    return [
        temperature_scaled(i, tuple(fitted[i.name][h] for h in HALVES), context.split)  # type: ignore[arg-type]
        for i in context.built[spec.of].instances
    ]


def _calibrated_instances(name: str, spec: Any, context: Context) -> list[Instance] | None:
    if spec.of not in context.built:
        return None  # what it calibrates is left out here
    declared = CALIBRATORS[spec.kind]
    options = declared.options(**spec.options)
    return [
        calibrated(i, declared, options, context.inference.labels(i.models[0]), context.split)
        for i in context.built[spec.of].instances
    ]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreOptions(NoOptions):
    ood_score: str | None = Field(
        None, description="the score it is judged by in the verdict table's OOD rows (default: entropy)"
    )


class EnsembleOptions(ScoreOptions):
    members: int | None = Field(
        None, ge=1, description="CNNs per ensemble: the models make len(models) / members disjoint ensembles"
    )


@dataclass(frozen=True)
class Kind:
    """A kind of predictor: how it is declared (check_params enforces `cnns` and `fewest_models`),
    how its instances are built, the scores it offers and how the report describes it."""

    scores: tuple[str, ...]  # the uncertainty scores its outputs support
    cnns: str | None  # "plain" or "dropout": the trained models it takes; None: it scales predictor `of`
    instances: Callable[[str, Any, Context], list[Instance] | None]  # (name, spec, ...); None: left out
    describe: Callable[[Any, Any], str]  # (its params entry, params) -> words for the report
    fewest_models: int = (
        1  # one model is enough: its intervals then cover the test images only (the report says so)
    )
    options: type[BaseModel] = NoOptions  # what its params entry may set under `options` (check_params)
    # A method the posthoc stage fits per model: the import path of its module (uncertainty.methods.posthoc,
    # whose `Options` then replace `options`). Named, not imported: a method edit re-runs only its stages.
    posthoc: str | None = None
    ood_score: str = "entropy"  # its score in the verdict table's OOD rows, unless options.ood_score says
    keeps_top_class: bool = True  # a kind that scales `of` and never changes its top class: accuracy is equal


def _feature_score(score: str, words: str) -> Kind:
    """A post-hoc OOD score on one CNN's penultimate features (module uncertainty.<score>, its score `score`):
    the CNN's softmax, judged on OOD inputs by that score. The description names the options params.yaml
    sets (the module's own defaults are its docstring's: the report never imports a method)."""

    def describe(spec: Any, p: Any) -> str:
        options = ", ".join(
            f"{key} = {value:,}" if isinstance(value, int) else f"{key} = {value}"
            for key, value in spec.options.items()
        )
        return (
            f"one model's softmax, judged on OOD inputs by {words}{f', with {options}' if options else ''}; "
            f"{len(spec.models)} trainings ({', '.join(spec.models)})"
        )

    return Kind(
        (*SOFTMAX_SCORES, *LOGIT_SCORES, score),
        "plain",
        _posthoc_instances(keep_softmax=True),
        describe,
        posthoc=f"uncertainty.methods.{score}",
        ood_score=score,
    )


def _calibrator(name: str, declared: Declared) -> Kind:
    """A CALIBRATORS entry as a kind: predictor `of`, each instance calibrated on the test set's halves."""

    def describe(spec: Any, p: Any) -> str:
        words = declared.words.format(**declared.options(**spec.options).model_dump())
        return f"{p.predictors[spec.of].label}, calibrated by {words} (cross-fitted on the test set's halves)"

    return Kind(
        SOFTMAX_SCORES,
        None,
        _calibrated_instances,
        describe,
        options=declared.options,
        keeps_top_class=declared.keeps_top_class,
    )


# The laplace options its description reads, as uncertainty.methods.laplace.Options defaults them (a test checks).
LAPLACE_DEFAULTS = {"link": "probit", "prior": "isotropic", "mc_samples": 500}
LAPLACE_LINKS = {
    "probit": "per-logit probit predictive (each logit shrunk by its own variance, as laplace-torch)",
    "centred": "probit predictive of the centred logits (the variance all logits share left out)",
    "pairwise": "pairwise probit predictive (on the variances of the logit differences)",
    "mc": "Monte Carlo predictive over the full logit covariance ({mc_samples} seeded draws per image)",
}


def _describe_laplace(spec: Any) -> str:
    options = {**LAPLACE_DEFAULTS, **spec.options}
    prior = "isotropic" if options["prior"] == "isotropic" else "identifiable-subspace"
    return (
        f"one model with a Gaussian posterior over its last layer (every weight and bias, full GGN, {prior} prior, "
        f"precision by marginal likelihood) fitted on the training images; its "
        f"{LAPLACE_LINKS[options['link']].format(**options)}; {len(spec.models)} trainings ({', '.join(spec.models)})"
    )


KINDS: dict[str, Kind] = {
    "softmax": Kind(
        (*SOFTMAX_SCORES, *LOGIT_SCORES),
        "plain",
        _softmax_instances,
        lambda spec, p: (
            f"the softmax of one model{_judged_by(spec)}; {len(spec.models)} trainings ({', '.join(spec.models)})"
        ),
        options=ScoreOptions,
    ),
    "mc_dropout": Kind(
        (*SOFTMAX_SCORES, "mutual_information", "variation_ratio", "interval_width"),
        "dropout",
        _mc_dropout_instances,
        lambda spec, p: (
            f"the mean of T = {p.infer.mc_passes} MC dropout passes; "
            f"{len(spec.models)} trainings ({', '.join(spec.models)})"
        ),
    ),
    "ensemble": Kind(
        (*SOFTMAX_SCORES, "mutual_information", "variation_ratio", *LOGIT_SCORES),
        "plain",
        _ensemble_instances,
        lambda spec, p: _describe_ensembles(spec),
        options=EnsembleOptions,
    ),
    "temperature": Kind(
        SOFTMAX_SCORES,
        None,
        _temperature_instances,
        lambda spec, p: (
            f"{p.predictors[spec.of].label}, temperature-scaled (cross-fitted on the test set's halves)"
        ),
    ),
    "feature_density": _feature_score(
        "feature_density",
        "the density of its penultimate features under class-conditional Gaussians fitted on the training "
        "images (DDU)",
    ),
    "knn": _feature_score(
        "knn",
        "the distance of its normalized penultimate features to the k-th nearest training image's "
        "(deep nearest neighbours, Sun et al. 2022)",
    ),
    "vim": _feature_score(
        "vim",
        "its features' residual off their principal subspace, matched to the energy (ViM, Wang et al. 2022)",
    ),
    "rmds": _feature_score(
        "rmds",
        "the Mahalanobis distance to the nearest class minus the distance to all training images' Gaussian "
        "(relative Mahalanobis, Ren et al. 2021)",
    ),
    "laplace": Kind(
        SOFTMAX_SCORES,
        "plain",
        _posthoc_instances(keep_softmax=False),
        lambda spec, p: _describe_laplace(spec),
        posthoc="uncertainty.methods.laplace",
    ),
    **{name: _calibrator(name, declared) for name, declared in CALIBRATORS.items()},
}


def _describe_ensembles(spec: Any) -> str:
    groups = ensemble_groups(spec)
    listed = "; ".join(", ".join(group) for group in groups)
    if len(groups) == 1:
        return (
            f"the mean of M = {len(groups[0])} models' softmaxes{_judged_by(spec)}; one ensemble ({listed})"
        )
    return (
        f"the mean of M = {len(groups[0])} models' softmaxes{_judged_by(spec)}; {len(groups)} disjoint ensembles "
        f"({listed}), and in the verdicts every ensemble of {len(groups[0])} its {len(spec.models)} trainings form"
    )


def _judged_by(spec: Any) -> str:
    score = spec.options.get("ood_score")
    return f", judged on OOD inputs by its {score.replace('_', ' ')}" if score else ""


def describe(params: Any) -> dict[str, str]:
    """Each predictor of the registry in words, as its kind describes it (the report)."""
    return {name: KINDS[spec.kind].describe(spec, params) for name, spec in params.predictors.items()}


def ood_score(spec: Any) -> str:
    """The score a predictor is judged by in the verdict table's OOD rows."""
    return spec.options.get("ood_score") or KINDS[spec.kind].ood_score


def repeats(names: Iterable[str], same: Callable[[str, str], bool]) -> dict[str, str]:
    """name -> the earlier name whose outputs it repeats (`same(earlier, name)`), compared with the earlier
    names that repeat none: a predictor that only adds a score (energy, feature density) repeats the plain
    CNN's probabilities, so its sets, curves and table rows are that one's."""
    found: dict[str, str] = {}
    kept: list[str] = []
    for name in names:
        twin = next((earlier for earlier in kept if same(earlier, name)), None)
        if twin is None:
            kept.append(name)
        else:
            found[name] = twin
    return found


def temperature_halves(n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The test set's two seeded halves that temperatures are cross-fitted on (verdicts.seed)."""
    return halves(n_test, seed)


def build(
    params: Any,
    inference: Inference,
    temperatures: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    posthoc: Inference | None = None,
) -> dict[str, Predictor]:
    """Every predictor of params.predictors, in order, each built by its kind. Without `temperatures`
    (the temperature stage itself) the temperature-scaled predictors are left out, without `posthoc`
    (the posthoc stage) the post-hoc ones."""
    context = Context(params, inference, {}, temperatures, posthoc)
    for name, spec in params.predictors.items():
        kind = KINDS[spec.kind]
        instances = kind.instances(name, spec, context)
        if instances is not None:
            context.built[name] = Predictor(
                name, spec.label, spec.kind, kind.scores, instances, of=spec.of, ood_score=ood_score(spec)
            )
    return context.built


# temperature.json: predictor -> instance -> the T fitted on each half
HALVES = ("fitted_on_half_a", "fitted_on_half_b")
