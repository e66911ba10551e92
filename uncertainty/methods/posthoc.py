"""The contract of a post-hoc method: fitted once per trained CNN on its training-image outputs, then
applied to every set. A predictor kind names its method by import path (`Kind.posthoc`, e.g.
"uncertainty.methods.laplace"); the module holds `Options` (a pydantic model: its params entry's `options`)
and `Method` (built from the options, `PosthocMethod` below). Only the stages that fit a method
(posthoc) or check its options (check_params) load the module, so editing a method re-runs those
and whatever reads their outputs, never the stages that only read the other predictors.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel

Arrays = Mapping[str, np.ndarray]


@runtime_checkable
class PosthocMethod(Protocol):
    """fit -> apply/diagnose, like laplace-torch's `fit` / `predictive`.

    `fit(train)`: the inference stage's `train` arrays (features (N, D), logits (N, K), labels (N,),
    the last Dense layer's kernel (D, K) and bias (K,)); returns what was fitted, a JSON-able record.
    `apply(arrays)`: one set's arrays -> the method's per-image outputs: a predictive `mean` (N, K),
    or scores (N,) named as uncertainty.evaluation.metrics reads them (higher = more uncertain).
    `diagnose(test)`: the method's own checks on the test set, a JSON-able record (may be empty).
    """

    def fit(self, train: Arrays) -> dict[str, Any]: ...

    def apply(self, arrays: Arrays) -> dict[str, np.ndarray]: ...

    def diagnose(self, test: Arrays) -> dict[str, Any]: ...


def module(path: str) -> ModuleType:
    """The method module `path`; ValueError if it lacks `Options` (a pydantic model) or `Method`."""
    loaded = importlib.import_module(path)
    options, method = getattr(loaded, "Options", None), getattr(loaded, "Method", None)
    if not (isinstance(options, type) and issubclass(options, BaseModel)) or not callable(method):
        raise ValueError(f"{path}: a post-hoc method module needs `Options` (a pydantic model) and `Method`")
    return loaded


def method(path: str, options: Mapping[str, Any]) -> PosthocMethod:
    """The method of module `path` built from a params entry's `options` (checked by check_params)."""
    loaded = module(path)
    return loaded.Method(loaded.Options(**options))
