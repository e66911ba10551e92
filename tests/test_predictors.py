"""The registry of predictors: each kind combines the inference stage's outputs as it says."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from uncertainty.io import save_npz
from uncertainty.ood_inputs import OOD_SETS
from uncertainty.predictors import HALVES, KINDS, Inference, build, temperature_halves
from uncertainty.schema import Params
from uncertainty.summaries import entropy, summarize_passes
from uncertainty.temperature import apply_temperature

ROOT = Path(__file__).resolve().parents[1]
N_TEST, N_OUT, ANGLES = 40, 12, [0, 90]


@pytest.fixture
def inference(tmp_path: Path) -> Inference:
    """Outputs as the infer stage writes them, for two plain CNNs and one dropout CNN."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, N_TEST)
    sizes = {"test": N_TEST, **{s: N_OUT for s in OOD_SETS}}
    for model in ("plain", "ensemble_1"):
        for set_name, n in sizes.items():
            arrays = {"probs": rng.dirichlet(np.ones(10), n).astype(np.float32)}
            save_npz(
                tmp_path / model / f"{set_name}.npz",
                {**arrays, "labels": labels} if set_name == "test" else arrays,
            )
        save_npz(
            tmp_path / model / "rotated.npz",
            {"angles": np.array(ANGLES), "probs": rng.dirichlet(np.ones(10), (2, 20))},
        )
    for set_name, n in sizes.items():
        summary = summarize_passes(rng.dirichlet(np.ones(10), (5, n)))
        save_npz(
            tmp_path / "dropout" / f"{set_name}.npz",
            {**summary, "labels": labels} if set_name == "test" else summary,
        )
    return Inference(tmp_path)


def params_with(predictors: dict) -> Params:
    raw = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text()))
    raw["predictors"] = predictors
    return Params.model_validate(raw)


REGISTRY = {
    "plain": {"label": "plain", "kind": "softmax", "models": ["plain", "ensemble_1"]},
    "mc_dropout": {"label": "MC", "kind": "mc_dropout", "models": ["dropout"]},
    "ensemble": {"label": "ens", "kind": "ensemble", "models": ["plain", "ensemble_1"]},
    "plain_ts": {"label": "plain + T", "kind": "temperature", "of": "plain"},
}


def test_each_kind_combines_the_models_as_declared(inference: Inference) -> None:
    predictors = build(
        params_with(REGISTRY),
        inference,
        {"plain": {"plain": dict(zip(HALVES, (2.0, 0.5))), "ensemble_1": dict(zip(HALVES, (1.0, 1.0)))}},
    )
    assert list(predictors) == list(REGISTRY)
    assert [i.name for i in predictors["plain"].instances] == ["plain", "ensemble_1"]
    assert predictors["plain"].first.name == "plain"
    np.testing.assert_array_equal(
        predictors["plain"].first.output("mnist")["mean"], inference("plain", "mnist")["probs"]
    )
    assert predictors["mc_dropout"].first.output("test") is inference("dropout", "test")

    (ensemble,) = predictors["ensemble"].instances
    assert ensemble.name == "plain+ensemble_1"
    members = np.stack([inference(m, "test")["probs"].astype(np.float64) for m in ("plain", "ensemble_1")])
    np.testing.assert_allclose(ensemble.output("test")["mean"], members.mean(0))
    np.testing.assert_allclose(ensemble.output("test")["mean_entropy"], entropy(members).mean(0))
    rotated = ensemble.output("rotated")["mean"]
    assert rotated.shape == (2, 20, 10)
    np.testing.assert_allclose(
        rotated[1], np.mean([inference(m, "rotated")["probs"][1] for m in ("plain", "ensemble_1")], axis=0)
    )

    scaled = predictors["plain_ts"].first
    a, b = temperature_halves(N_TEST, params_with(REGISTRY).verdicts.seed)
    probs = inference("plain", "test")["probs"]
    np.testing.assert_allclose(scaled.output("test")["mean"][a], apply_temperature(probs[a], 0.5))
    np.testing.assert_allclose(scaled.output("test")["mean"][b], apply_temperature(probs[b], 2.0))
    np.testing.assert_allclose(
        scaled.output("mnist")["mean"], apply_temperature(inference("plain", "mnist")["probs"], 1.0)
    )
    assert predictors["plain_ts"].is_scaled_version_of(predictors["plain"])
    assert predictors["plain_ts"].scores == KINDS["temperature"].scores


def test_without_temperatures_the_scaled_predictors_are_left_out(inference: Inference) -> None:
    assert list(build(params_with(REGISTRY), inference)) == ["plain", "mc_dropout", "ensemble"]


def test_every_kind_offers_the_softmax_scores() -> None:
    for kind in KINDS.values():
        assert {"one_minus_max_prob", "entropy"} <= set(kind.scores)
