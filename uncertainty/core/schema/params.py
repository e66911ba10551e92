"""The whole params.yaml as one typed model, in the file's order: check_params checks it, the report shows it.

A stage reads only its own sections (uncertainty.core.params.read_params), so it depends on their
modules alone; this one imports them all.
"""

from __future__ import annotations

from uncertainty.core.schema.base import Section
from uncertainty.core.schema.conformal import Conformal
from uncertainty.core.schema.corrupt import Corrupt
from uncertainty.core.schema.evaluate import Evaluate
from uncertainty.core.schema.health import Health
from uncertainty.core.schema.infer import Infer
from uncertainty.core.schema.linear_data import LinearData
from uncertainty.core.schema.mc_batch import McBatch
from uncertainty.core.schema.mc_engine import McEngine
from uncertainty.core.schema.noise import Noise
from uncertainty.core.schema.ood import Ood
from uncertainty.core.schema.predictors import Predictors
from uncertainty.core.schema.prepare import Prepare
from uncertainty.core.schema.regression import Regression
from uncertainty.core.schema.shift import Shift
from uncertainty.core.schema.train import Train
from uncertainty.core.schema.verdicts import Verdicts


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


# Every section, for a stage that reads them all (the report): uncertainty.core.params.read_params(SECTIONS).
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
