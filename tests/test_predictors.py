"""The registry of predictors: each kind combines the inference stage's outputs as it says."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import yaml

from uncertainty.core.io import read_json, save_npz
from uncertainty.core.schema.params import Params
from uncertainty.core.vocabulary import ood_sets
from uncertainty.data.dataset_info import write_info
from uncertainty.data.fashion_mnist import CLASS_NAMES
from uncertainty.evaluation import corrupted
from uncertainty.methods import conformal, feature_density, laplace
from uncertainty.methods.predictors import HALVES, KINDS, Inference, build, temperature_halves
from uncertainty.methods.temperature import apply_temperature, halves
from uncertainty.models.summaries import entropy, summarize_passes

ROOT = Path(__file__).resolve().parents[1]
N_TEST, N_OUT, ANGLES = 40, 12, [0, 90]
CONDITIONS = corrupted.conditions(
    Params.model_validate(yaml.safe_load((ROOT / "params.yaml").read_text())).corrupt
)


def _deterministic(
    rng: np.random.Generator, shape: tuple[int, ...], layer: tuple[np.ndarray, np.ndarray]
) -> dict:
    """A plain CNN's outputs as the infer stage writes them: features, logits = features @ kernel + bias, probs."""
    features = rng.normal(size=(*shape, 8)).astype(np.float32)
    logits = features @ layer[0] + layer[1]
    return {"features": features, "logits": logits, "probs": scipy.special.softmax(logits, axis=-1)}


@pytest.fixture
def inference(tmp_path: Path) -> Inference:
    """Outputs as the infer stage writes them, for two plain CNNs and one dropout CNN."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, N_TEST)
    sizes = {"test": N_TEST, **{s: N_OUT for s in ood_sets()}}
    for model in ("plain", "ensemble_1"):
        layer = (rng.normal(size=(8, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32))
        for set_name, n in sizes.items():
            arrays = _deterministic(rng, (n,), layer)
            save_npz(
                tmp_path / model / f"{set_name}.npz",
                {**arrays, "labels": labels} if set_name == "test" else arrays,
            )
        train = _deterministic(rng, (200,), layer)
        train_labels = np.concatenate([np.arange(10).repeat(10), train["logits"][100:].argmax(axis=1)])
        save_npz(
            tmp_path / model / "train.npz",
            {"features": train["features"], "logits": train["logits"], "labels": train_labels,
             "kernel": layer[0], "bias": layer[1]},
        )  # fmt: skip
        save_npz(
            tmp_path / model / "rotated.npz",
            {"angles": np.array(ANGLES), **_deterministic(rng, (2, 20), layer)},
        )
        save_npz(  # the corrupt stage's conditions of params.yaml, the first 20 test images under each
            tmp_path / model / "corrupted.npz",
            {"corruption": np.array([c for c, _ in CONDITIONS]), "severity": np.array([s for _, s in CONDITIONS]),
             **_deterministic(rng, (len(CONDITIONS), 20), layer)},
        )  # fmt: skip
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


POSTHOC_REGISTRY = {
    "plain": {"label": "plain", "kind": "softmax", "models": ["plain", "ensemble_1"]},
    "plain_energy": {
        "label": "energy", "kind": "softmax", "models": ["plain", "ensemble_1"], "options": {"ood_score": "energy"}
    },
    "ensemble": {"label": "ens", "kind": "ensemble", "models": ["plain", "ensemble_1"]},
    "feature_density": {"label": "density", "kind": "feature_density", "models": ["plain", "ensemble_1"]},
    "laplace": {"label": "Laplace", "kind": "laplace", "models": ["plain", "ensemble_1"]},
}  # fmt: skip


def test_logit_scores_of_one_cnn_and_of_the_ensemble(inference: Inference) -> None:
    predictors = build(params_with(POSTHOC_REGISTRY), inference)
    assert predictors["plain"].ood_score == "entropy" and predictors["plain_energy"].ood_score == "energy"
    logits = {m: inference(m, "mnist")["logits"].astype(np.float64) for m in ("plain", "ensemble_1")}
    output = predictors["plain"].first.output("mnist")
    np.testing.assert_allclose(output["energy"], -scipy.special.logsumexp(logits["plain"], axis=1))
    np.testing.assert_allclose(output["max_logit"], -logits["plain"].max(axis=1))
    ensemble = predictors["ensemble"].first.output("mnist")
    np.testing.assert_allclose(
        ensemble["energy"], np.mean([-scipy.special.logsumexp(f, axis=1) for f in logits.values()], axis=0)
    )
    assert predictors["ensemble"].first.output("rotated")["energy"].shape == (2, 20)
    # the post-hoc predictors wait for the posthoc stage
    assert "feature_density" not in predictors and "laplace" not in predictors


def default_info(directory: Path) -> Path:
    """data/dataset.json as the prepare stage writes it for the default data."""
    path = directory / "dataset.json"
    write_info(
        path,
        "Fashion-MNIST",
        "fashion_mnist",
        CLASS_NAMES,
        (28, 28, 1),
        {"mnist": {"label": "MNIST", "words": "MNIST digits"}},
    )
    return path


def test_the_posthoc_stage_feeds_its_predictors(inference: Inference, tmp_path: Path) -> None:
    from stages import posthoc as stage

    params = params_with(POSTHOC_REGISTRY)
    paths = argparse.Namespace(
        info=default_info(tmp_path),
        inference=inference.directory,
        output=tmp_path / "posthoc",
        metrics=tmp_path / "posthoc.json",
        machine=tmp_path / "machine.json",
    )
    stage.main(params, paths)
    records = read_json(paths.metrics)
    assert set(records) == {"feature_density", "laplace"}
    assert set(records["laplace"]) == {"plain", "ensemble_1"}
    assert records["laplace"]["plain"]["prior_precision"] > 0
    assert len(records["laplace"]["plain"]["grid_test_nll"]) == len(
        records["laplace"]["plain"]["grid"]["log_evidence"]
    )
    assert records["feature_density"]["plain"]["jitter"] >= 0
    seconds = read_json(paths.machine)["seconds"]  # measurements apart from the results
    assert seconds["laplace"]["plain"]["fit_seconds"] > 0 and "fit_seconds" not in records["laplace"]["plain"]

    predictors = build(params, inference, posthoc=Inference(paths.output))
    density = predictors["feature_density"]
    assert density.ood_score == "feature_density" and "feature_density" in density.scores
    test = density.first.output("test")
    np.testing.assert_array_equal(test["mean"], inference("plain", "test")["probs"].astype(np.float64))
    train = inference("plain", "train")
    gaussians = feature_density.fit(train["features"], train["labels"], 10)
    np.testing.assert_allclose(
        test["feature_density"],
        -feature_density.log_density(gaussians, inference("plain", "test")["features"]),
    )
    assert density.first.output("rotated")["feature_density"].shape == (2, 20)

    laplace_output = predictors["laplace"].instances[1].output("rotated")["mean"]
    assert laplace_output.shape == (2, 20, 10)
    np.testing.assert_allclose(laplace_output.sum(axis=-1), 1.0)
    other = inference("ensemble_1", "train")
    posterior, _ = laplace.fit(other["features"], other["labels"], other["kernel"], other["bias"])
    np.testing.assert_allclose(
        laplace_output[1], posterior.probit(inference("ensemble_1", "rotated")["features"][1]), rtol=1e-6
    )


def test_an_ensemble_of_groups_is_one_instance_per_group(inference: Inference) -> None:
    registry = {
        "ensemble": {
            "label": "ens",
            "kind": "ensemble",
            "models": ["plain", "ensemble_1"],
            "options": {"members": 1},
        }
    }
    (predictor,) = build(params_with(registry), inference).values()
    assert [i.name for i in predictor.instances] == ["plain", "ensemble_1"]
    np.testing.assert_allclose(
        predictor.instances[1].output("test")["mean"],
        inference("ensemble_1", "test")["probs"].astype(np.float64),
    )


def _cross_fit_thr(probs, labels, split, alpha):
    """By hand: thresholds calibrated on each half give the other half's thr sets."""
    sets, thresholds = np.zeros(probs.shape, dtype=bool), {}
    for name, fit, other in ((HALVES[0], split[0], split[1]), (HALVES[1], split[1], split[0])):
        thresholds[name] = conformal.quantile(1.0 - probs[fit][np.arange(len(fit)), labels[fit]], alpha)
        sets[other] = 1.0 - probs[other] <= thresholds[name]
    return sets, thresholds


def test_conformal_sets_are_cross_fitted_with_each_halfs_own_temperature(
    inference: Inference, tmp_path: Path
) -> None:
    """The stage's coverage equals a cross-fit computed here: thr on the plain CNN as it is, and on the
    temperature-scaled one with the temperature fitted on the calibration half."""
    from stages import conformal as stage

    raw = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text()))
    raw["predictors"] = {
        **REGISTRY,
        "twin": {"label": "twin", "kind": "softmax", "models": ["plain", "ensemble_1"]},
    }
    raw["conformal"].update(alphas=[0.2], scores=["thr", "aps"])
    raw["verdicts"]["bootstrap"] = 100
    raw["shift"]["angles"] = ANGLES
    raw["corrupt"].update(conformal_score="thr", conformal_alpha=0.2)
    params = Params.model_validate(raw)
    temperatures = {
        name: {m: dict(zip(HALVES, (2.0, 0.5))) for m in ("plain", "ensemble_1")} for name in ("plain",)
    }
    temperatures["mc_dropout"] = {"dropout": dict(zip(HALVES, (1.0, 1.0)))}
    temperatures["ensemble"] = {"plain+ensemble_1": dict(zip(HALVES, (1.0, 1.0)))}
    (tmp_path / "t.json").write_text(json.dumps(temperatures))
    paths = argparse.Namespace(
        info=default_info(tmp_path),
        inference=inference.directory, posthoc=tmp_path / "none", temperature=tmp_path / "t.json",
        metrics=tmp_path / "conformal.json", table=tmp_path / "conformal_table.json",
        alpha_curves=tmp_path / "a", shift_curves=tmp_path / "s", corruption_curves=tmp_path / "c",
    )  # fmt: skip
    stage.main(params, paths)
    found = read_json(paths.table)
    headline = read_json(paths.metrics)  # the metrics file: the table's coverage and sizes with intervals
    assert headline["plain"]["thr"]["0.2"]["coverage"] == {
        k: found["plain"]["thr"]["0.2"]["coverage"][k] for k in ("mean", "low", "high")
    }
    assert "rotated" not in headline["plain"]["thr"]["0.2"] and headline["same_as"] == found["same_as"]
    assert found["same_as"] == {"twin": "plain"}  # the same probabilities: the same sets, shown once
    labels = inference.labels("plain")
    split = temperature_halves(N_TEST, params.verdicts.seed)
    expected, worst, mnist_sizes, under = [], [], [], []
    mnist_side = np.zeros(N_OUT, dtype=int)
    mnist_side[halves(N_OUT, params.conformal.seed)[1]] = 1
    for model in ("plain", "ensemble_1"):
        sets, thresholds = _cross_fit_thr(inference(model, "test")["probs"], labels, split, 0.2)
        covered = conformal.coverage_terms(sets, labels)
        expected.append(covered.mean())
        worst.append(min(covered[labels == k].mean() for k in np.unique(labels)))
        mnist = inference(model, "mnist")["probs"]
        sizes = [  # an MNIST image in half b gets the sets of the calibration on half a, and the swap
            conformal.set_sizes(
                conformal.prediction_sets(mnist[mnist_side == side], thresholds[fitted], "thr")
            )
            for side, fitted in ((1, HALVES[0]), (0, HALVES[1]))
        ]
        mnist_sizes.append(np.concatenate(sizes).mean())
        # a corrupted image (one of the first 20 test images) gets the sets of the calibration on the half
        # its test image is not in; severity 3's coverage is the mean over its corruptions
        side = np.isin(np.arange(20), split[1]).astype(int)
        rows = corrupted.rows_at(params.corrupt, 3)
        probs = inference(model, "corrupted")["probs"][rows]  # (C, 20, K)
        threshold = np.where(side == 1, thresholds[HALVES[0]], thresholds[HALVES[1]])[None, :, None]
        under.append(
            conformal.coverage_terms(
                (1.0 - probs <= threshold).reshape(-1, 10), np.tile(labels[:20], len(rows))
            ).mean()
        )
    entry = found["plain"]["thr"]["0.2"]
    assert entry["coverage"]["mean"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert entry["worst_class_coverage"]["mean"] == pytest.approx(np.mean(worst), abs=1e-6)
    assert entry["mnist_mean_size"]["mean"] == pytest.approx(np.mean(mnist_sizes), abs=1e-6)
    assert entry["coverage"]["low"] < entry["coverage"]["mean"] < entry["coverage"]["high"]
    at = entry["corrupted"]["severity"]["3"]["coverage"]
    assert at["mean"] == pytest.approx(np.mean(under), abs=1e-9) and at["low"] < at["mean"] < at["high"]
    assert found["mc_dropout"]["thr"]["0.2"]["corrupted"] is None  # not inferred on the corrupted images

    coverages = []
    for model in ("plain", "ensemble_1"):
        probs = inference(model, "test")["probs"]
        scaled = {h: apply_temperature(probs, t) for h, t in zip(HALVES, (2.0, 0.5), strict=True)}
        sets = np.zeros((N_TEST, 10), dtype=bool)
        for fit, other, half in ((split[0], split[1], HALVES[0]), (split[1], split[0], HALVES[1])):
            calibration = conformal.calibrate(scaled[half][fit], labels[fit], "thr", 0.2)
            sets[other] = calibration.sets(scaled[half][other])
            if model == "plain":
                fitted = found["plain_ts"]["thr"]["0.2"]["fitted"][half]["threshold"]
                assert fitted == pytest.approx(calibration.threshold, abs=1e-6)
        coverages.append(conformal.coverage_terms(sets, labels).mean())
    assert found["plain_ts"]["thr"]["0.2"]["coverage"]["mean"] == pytest.approx(np.mean(coverages), abs=1e-6)
    assert set(found["plain_ts"]["thr"]["0.2"]["rotated"]) == {str(a) for a in ANGLES}
    assert found["smallest_sets"]["thr"]["0.2"]["best"] in found
    assert {p.name for p in paths.alpha_curves.glob("*.csv")} >= {
        "plain.thr.csv",
        "plain_ts.thr_mondrian.csv",
    }


def test_a_scaled_ensemble_reads_the_ensembles_own_mean_without_its_other_summaries(tmp_path) -> None:
    from uncertainty.core.io import save_npz
    from uncertainty.methods.predictors import Inference, ensemble_mean, ensemble_output

    rng = np.random.default_rng(3)
    for model in ("a", "b", "c"):
        logits = rng.normal(size=(3, 40, 5)).astype(np.float32)  # a leading angle axis, as the rotated set
        probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        save_npz(tmp_path / model / "test.npz", {"probs": probs[0], "logits": logits[0]})
        save_npz(tmp_path / model / "rotated.npz", {"probs": probs, "logits": logits})
    inference = Inference(tmp_path)
    for set_name in ("test", "rotated"):
        full, alone = (
            ensemble_output(inference, ("a", "b", "c"))(set_name),
            ensemble_mean(inference, ("a", "b", "c"))(set_name),
        )
        assert list(alone) == ["mean"]
        np.testing.assert_array_equal(alone["mean"], full["mean"])
