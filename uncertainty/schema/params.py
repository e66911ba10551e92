"""The whole params.yaml as one typed model, in the file's order: check_params checks it, the report shows it.

A stage reads only its own sections (uncertainty.params.read_params), so it depends on their
modules alone; this one imports them all.
"""

from __future__ import annotations

from uncertainty.schema.base import Section
from uncertainty.schema.conformal import Conformal
from uncertainty.schema.corrupt import Corrupt
from uncertainty.schema.evaluate import Evaluate
from uncertainty.schema.health import Health
from uncertainty.schema.infer import Infer
from uncertainty.schema.linear_data import LinearData
from uncertainty.schema.mc_batch import McBatch
from uncertainty.schema.mc_engine import McEngine
from uncertainty.schema.noise import Noise
from uncertainty.schema.ood import Ood
from uncertainty.schema.predictors import Predictors
from uncertainty.schema.prepare import Prepare
from uncertainty.schema.regression import Regression
from uncertainty.schema.shift import Shift
from uncertainty.schema.train import Train
from uncertainty.schema.verdicts import Verdicts


class Params(Section):
    linear_data: LinearData
    regression: Regression
    prepare: Prepare
    train: Train
    health: Health
    noise: Noise
    mc_batch: McBatch
    mc_engine: McEngine
    infer: Infer
    evaluate: Evaluate
    ood: Ood
    shift: Shift
    corrupt: Corrupt
    predictors: Predictors
    verdicts: Verdicts
    conformal: Conformal


# Every section, for a stage that reads them all (the report): uncertainty.params.read_params(SECTIONS).
SECTIONS = {
    "linear_data": LinearData,
    "regression": Regression,
    "prepare": Prepare,
    "train": Train,
    "health": Health,
    "noise": Noise,
    "mc_batch": McBatch,
    "mc_engine": McEngine,
    "infer": Infer,
    "evaluate": Evaluate,
    "ood": Ood,
    "shift": Shift,
    "corrupt": Corrupt,
    "predictors": Predictors,
    "verdicts": Verdicts,
    "conformal": Conformal,
}
