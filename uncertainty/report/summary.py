"""The report's opening and closing records: the models that have not learned, the summary (which
predictor for which job) and what produced the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation import statistics
from uncertainty.evaluation.verdicts import lookup
from uncertainty.methods.predictors import ensemble_groups
from uncertainty.report.sections import claim_records

UNLEARNED = "⚠"  # a row resting on a model that has not learned (the health stage flagged it)


def unlearned(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The models the health stage flagged (reports/metrics/health.json), each with its numbers, the Keras
    history's last training accuracy beside them (train_<name>.json) and its problems' sentences."""
    return [
        {"name": name, **record, "history_accuracy": metrics.get(f"train_{name}", {}).get("train_accuracy"),
         "causes": [p["text"][:1].upper() + p["text"][1:] for p in record["problems"]]}
        for name, record in metrics.get("health", {}).items() if record["problems"]
    ]  # fmt: skip


def models_of(params: Any) -> dict[str, list[str]]:
    """predictor -> the models it uses (a temperature predictor: those of the predictor it scales)."""
    found: dict[str, list[str]] = {}
    for name, spec in params.predictors.items():  # `of` names a predictor defined before it
        found[name] = found.get(spec.of, []) if spec.of is not None else list(spec.models or [])
    return found


def resting_on(models: Sequence[str], params: Any) -> list[str]:
    """The predictors that use any of `models`, in the registry's order."""
    return [name for name, used in models_of(params).items() if set(used) & set(models)]


def health(metrics: Mapping[str, Any], params: Any) -> dict[str, Any] | None:
    """Every model beside chance and its training; only when one has not learned (else left out)."""
    records = metrics.get("health", {})
    if not any(record["problems"] for record in records.values()):
        return None
    rows = [
        {"name": name, **record, "history_accuracy": metrics.get(f"train_{name}", {}).get("train_accuracy"),
         "model": f"{name} {UNLEARNED}" if record["problems"] else name,
         "kinds": ", ".join(p["kind"] for p in record["problems"]) or "none"}
        for name, record in records.items()
    ]  # fmt: skip
    return {"models": rows, "rules": params.health, "mark": UNLEARNED}


def summary(metrics: Mapping[str, Any], params: Any, costs: Mapping[str, Any]) -> dict[str, Any]:
    """The first screen: which predictor to use for which job, what it costs, the article's claims."""
    found, seeds, claims = (metrics.get(k, {}) for k in ("summary", "seeds", "claims"))
    labels, jobs = (
        {n: s.label for n, s in params.predictors.items()},
        {j.key: j.label for j in registry.jobs(params.corrupt.verdict_severities)},
    )
    undecided = statistics.WORDS["comparison"][2]
    flagged = unlearned(metrics)  # a predictor using one of them is marked in its rows
    suspect = resting_on([m["name"] for m in flagged], params)
    shown = {n: f"{label} {UNLEARNED}" if n in suspect else label for n, label in labels.items()}
    rows = [
        {"job": jobs.get(k, k), "best": shown[j["best"]["predictor"]], "metric": registry.label(tuple(j["best"]["metric"])),
         "value": lookup(seeds[j["best"]["predictor"]], tuple(j["best"]["metric"])), "found": j if j["runner_up"] else None,
         "runner_up": j["runner_up"] and {**j["runner_up"], "label": shown[j["runner_up"]["predictor"]]},
         # an undecided verdict with what it could have seen: "within ± half the interval's width"
         "verdict": j.get("verdict") and j["verdict"] + (f" (within ±{j['half_width']:.4f})" if j["verdict"] == undecided else "")}
        for k in jobs if (j := found.get("jobs", {}).get(k))  # in the registry's order
    ]  # fmt: skip
    recommended = dict.fromkeys(j["best"]["predictor"] for j in found.get("jobs", {}).values())
    independent = {n: s for n, s in params.predictors.items() if n in seeds and s.of is None}
    count = {n: seeds[n]["accuracy"]["seeds"] for n in independent}
    return {
        "jobs": rows, "confidence": params.verdicts.confidence, "claims": claim_records(claims, params),
        "trainings": [f"{labels[n]}: {k}" + (f" trainings, every ensemble of {len(ensemble_groups(s)[0])} of them "
                      f"({seeds[n]['accuracy']['subsets']})" if "subsets" in seeds[n]["accuracy"] else "")
                      for n, s in independent.items() if (k := count[n]) > 1],
        "single": [labels[n] for n in independent if count[n] == 1],
        "costs": [{"label": labels[n], **costs[n]} for n in recommended if n in costs],
        "unlearned": flagged, "suspect": [labels[n] for n in suspect], "mark": UNLEARNED,
    }  # fmt: skip


def provenance(params_text: str, versions: Mapping[str, str], machines: Mapping[str, str]) -> dict[str, Any]:
    """The machines (CPU model, ISA flags, threads), params and library versions that produced the report."""
    here = machines.get("report rendered on")
    elsewhere = [k.removeprefix("trained ").removesuffix(" on") for k, v in machines.items() if k.startswith("trained ") and v != here]  # fmt: skip
    return {
        "components": [{"what": k, "value": v} for k, v in (*versions.items(), *machines.items())],
        "params_text": params_text.rstrip(), "trained_elsewhere": ", ".join(elsewhere),
    }  # fmt: skip


def describe_machine(info: Mapping[str, Any]) -> str:
    """One line: 'Intel(R) Xeon(R) ... (x86_64), avx2 avx512f avx512_bf16, 2 threads, Keras on tensorflow 2.21.0'
    (the backend where the record names it)."""
    isa = info.get("isa", {})
    present = [flag for flag, has in isa.items() if has] if isinstance(isa, Mapping) else []
    backend = f", Keras on {info['keras_backend']}" if info.get("keras_backend") else ""
    return f"{info['cpu_model']} ({info['architecture']}), {' '.join(present) or 'no AVX2'}, {info['threads']} threads{backend}"
