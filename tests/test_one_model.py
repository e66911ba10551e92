"""Which run is the article's, and the params of a run of one model trained elsewhere (uncertainty.runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from uncertainty.config import CheckedParams
from uncertainty.core.article import not_the_article
from uncertainty.core.errors import PipelineError
from uncertainty.core.params import read_params
from uncertainty.core.schema.params import SECTIONS
from uncertainty.evaluation.claims import CLAIMS, decide_all
from uncertainty.methods.predictors import KINDS
from uncertainty.runs import CALIBRATING_KINDS, ONE_MODEL_KINDS, new, one_model_params

ROOT = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((ROOT / "params.yaml").read_text())


def test_the_default_run_is_the_articles_and_other_data_or_models_are_not() -> None:
    train = read_params(SECTIONS, ROOT / "params.yaml").train
    assert not_the_article("fashion_mnist", train) is None
    assert "prepare.source mnist" in not_the_article("mnist", train)
    one = CheckedParams.model_validate(
        one_model_params(
            PROJECT, "mine", "inputs/digits_bn.keras", 0.2, {"source": "fashion_mnist", "file": ""}
        )
    )
    assert "no plain CNN named 'plain'" in not_the_article("fashion_mnist", one.train)


@pytest.mark.parametrize("rate", [0.0, 0.2])
def test_one_models_params_hold_every_method_it_allows_and_validate(rate: float) -> None:
    params = one_model_params(PROJECT, "mine", "inputs/digits_bn.keras", rate, {"source": "npz", "file": "x"})
    kinds = {spec["kind"] for spec in params["predictors"].values()}
    assert kinds == {"softmax", "feature_density", "knn", "vim", "rmds", "laplace"} | set(
        CALIBRATING_KINDS
    ) | ({"mc_dropout"} if rate else set())
    assert all(spec.get("models", ["mine"]) == ["mine"] for spec in params["predictors"].values())
    assert all(
        a in params["predictors"] and b in params["predictors"] for a, b in params["verdicts"]["comparisons"]
    )
    assert params["verdicts"]["comparisons"]  # not pruned to nothing
    assert params["infer"]["also_without_dropout"] == (["mine"] if rate else [])
    assert params["train"] == {
        **PROJECT["train"],
        "models": {},
        "imported": {"mine": {"file": "inputs/digits_bn.keras", "dropout_rate": rate}},
    }
    params["prepare"]["source"] = "fashion_mnist"  # (an npz would be looked for on disk)
    checked = CheckedParams.model_validate(params)
    assert list(checked.train.models) == ["mine"] and checked.train.models["mine"].file
    # Only the claims a run of one model can decide: none of the article's, none needing an ensemble.
    assert not [key for key, claim in CLAIMS.items() if (not claim.article) and claim.applies(checked)]
    assert decide_all({}, checked, article=False) == {}


def test_every_kind_is_sorted_into_what_one_model_allows() -> None:
    """A new kind must say whether a run of one model keeps it: one model's, a calibration of another
    predictor, or one needing several trainings or Dropout layers."""
    assert set(CALIBRATING_KINDS) == {name for name, kind in KINDS.items() if kind.cnns is None}
    assert set(KINDS) == {*ONE_MODEL_KINDS, *CALIBRATING_KINDS, "mc_dropout", "ensemble"}


def test_a_run_folder_names_a_missing_or_misplaced_file_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        PipelineError, match=r"^inputs/absent.keras: no such file; copy it into inputs/ first$"
    ):
        new("absent_run", "inputs/absent.keras", None, "mnist")
    with pytest.raises(PipelineError, match=r"^models/x.keras: expected a .keras file directly in inputs/"):
        new("absent_run", "models/x.keras", None, "mnist")
    assert not (ROOT / "runs" / "absent_run").exists()
