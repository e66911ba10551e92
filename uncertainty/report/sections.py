"""The sections' records: each builder reads the metrics files and tables and returns its records, names
and numbers as the files hold them, nothing formatted; its template (templates/<section>.md.j2) holds
the prose and declares the tables' columns (uncertainty.report.page renders them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from uncertainty.core.names import format_number
from uncertainty.core.vocabulary import INPUT_SETS, first_ood, ood_sets, score_label, set_label
from uncertainty.data.fashion_mnist import (
    CLASS_NAMES as ARTICLE_CLASSES,  # the article's numbers name its classes
)
from uncertainty.evaluation import corrupted
from uncertainty.evaluation import metric_registry as registry
from uncertainty.evaluation.claims import CLAIMS
from uncertainty.evaluation.verdicts import lookup
from uncertainty.methods.calibrators import CALIBRATORS
from uncertainty.methods.conformal import variants
from uncertainty.methods.predictors import KINDS, LAPLACE_DEFAULTS, describe, ensemble_groups, repeats
from uncertainty.methods.predictors import ood_score as ood_score_of
from uncertainty.report.page import PUBLISHED

CONFORMAL_ALPHAS = (0.05, 0.01)  # the levels of the conformal tables (where conformal.alphas has them)
ROTATION_ANGLES = (0, 30, 90)  # the columns of the conformal rotation table (where shift.angles has them)


def same_probabilities(
    predictors: Any, evaluation: Mapping[str, Any], shift: Mapping[str, Any]
) -> dict[str, str]:
    """predictor -> the earlier predictor whose test-set and shift metrics it repeats exactly."""
    return repeats(predictors, lambda a, b: evaluation[a] == evaluation[b] and shift.get(a) == shift.get(b))


def article(metrics: Mapping[str, Any], params: Any, class_names: Sequence[str]) -> dict[str, Any]:
    """Sections 1-4: the article's experiments, this run's numbers beside the article's (its run only)."""
    at = format_number(params.regression.predict_at)  # how the regression stage spells its keys
    regression = metrics["regression"]
    trained = {name: spec for name, spec in params.train.models.items() if f"train_{name}" in metrics}
    return {
        "regression": [  # in params order, not the JSON's sorted order
            {"name": n, "ours": regression[f"pred_at_{at}"][n], "article": PUBLISHED["article"]["pred_at_15"].get(n)}
            for n in params.regression.seeds
        ],
        "predict_at": at, "mean": regression[f"pred_at_{at}_mean"], "std": regression[f"pred_at_{at}_std"],
        "spreads": {format_number(x): regression[f"spread_at_{format_number(x)}"] for x in params.regression.spread_at},
        "models": [{"name": n, **s.model_dump(), **metrics[f"train_{n}"]} for n, s in trained.items()],
        "train": params.train, "noise": metrics["noise"], "noise_params": params.noise,
        "batch": metrics["mc_batch"], "batch_params": params.mc_batch, "classes": class_names,
        "article_classes": ARTICLE_CLASSES,
    }  # fmt: skip


def beyond(metrics: Mapping[str, Any], params: Any) -> dict[str, Any] | None:
    """The whole test set, OOD sets, selective prediction and rotation, each predictor's first training."""
    evaluation, ood, selective, shift = (metrics.get(k) for k in ("eval", "ood", "selective", "shift"))
    if (
        not (evaluation and ood and selective) or shift is None
    ):  # shift: {} without rotated images (saved outputs)
        return None
    every = {name: spec for name, spec in params.predictors.items() if name in evaluation}
    # A predictor that only adds a score (energy, feature density) has an earlier one's probabilities:
    # its quality and shift rows are that one's, shown once; only the scores it adds get rows.
    twin_of = same_probabilities(every, evaluation, shift)
    shown = {name: spec for name, spec in every.items() if name not in twin_of}
    taken = {n: KINDS[every[twin_of[n]].kind].scores if n in twin_of else () for n in every}
    scored = [(n, s) for n in every for s in KINDS[every[n].kind].scores if s not in taken[n]]
    # Beside the literature on another data's direction: the feature density and a plain softmax's entropy
    # detecting the data's first OOD set, over trainings (the first predictor of each kind).
    seeds, first = metrics.get("seeds", {}), first_ood()
    own = [(n, s.kind) for n, s in params.predictors.items() if "ood_score" not in s.options]
    density, entropy = (
        lookup(seeds, (next((n for n, k in own if k == kind), ""), "ood_auroc", first, score))
        for kind, score in (("feature_density", "feature_density"), ("softmax", "entropy"))
    )
    return {
        "beside": {"density": density, "entropy": entropy, "softmax": next(params.predictors[n].label for n, k in own if k == "softmax")}
        if density and entropy else None,
        "quality": [{"label": spec.label, "values": evaluation[n]} for n, spec in shown.items()],
        "scored": [
            {"label": every[n].label, "score": score_label(s), "values": selective[n][s],
             "sets": {x: ood[x][n][s] for x in ood_sets()}}
            for n, s in scored
        ],
        "shift": [{"angle": a, **{n: shift[n][str(a)] for n in shown if n in shift}} for a in params.shift.angles],
        "shown": {n: spec for n, spec in shown.items() if n in shift}, "predictors": every, "descriptions": describe(params),
        "twins": {every[n].label: every[t].label for n, t in twin_of.items()}, "ood": ood, "first_ood": first_ood(),
        "ood_sets": ood_sets(), "ood_params": params.ood, "evaluate": params.evaluate, "shift_limit": params.shift.test_limit,
    }  # fmt: skip


def verdicts(
    metrics: Mapping[str, Any], params: Any, costs: Mapping[str, Any], curves: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Per-predictor intervals, the verdict table, temperatures, cost beside quality, the claims, per seed."""
    seeds, found, temperature, claims, per_seed = (
        metrics.get(k) for k in ("seeds", "verdicts", "temperature", "claims", "per_seed")
    )
    if not (seeds and found and temperature and per_seed) or claims is None:
        return None
    specs, models = {n: s for n, s in params.predictors.items() if n in seeds}, params.train.models
    rows = [  # a scaled predictor's accuracy is its own's (a temperature keeps the top class); a repeat once
        {"comparison": f"{specs[a].label} − {specs[b].label}", "metric": registry.label(path), "result": result}
        for a, b in params.verdicts.comparisons
        for path in registry.verdict_paths(ood_sets(), params.corrupt.verdict_severities)
        if (result := lookup(found.get(a, {}).get(b, {}), path)) is not None
        and not (path == ("accuracy",) and specs[a].of == b and KINDS[specs[a].kind].keeps_top_class)
        and "same_as" not in result
    ]  # fmt: skip
    rates = {s.label: sorted({models[m].dropout_rate for m in s.models or ()}) for s in specs.values()}
    recipes = {
        s.label: {(models[m].dropout_rate, models[m].seed) for m in s.models or ()} for s in specs.values()
    }
    passes, members = curves.get("passes", []), curves.get("members", [])
    nll = passes[-1]["nll"] if passes and members else None
    first_within = lambda rows, target, x: next((int(r[x]) for r in rows if r["nll"] <= target), None)  # noqa: E731

    return {
        "specs": specs, "descriptions": describe(params), "verdict_params": params.verdicts,
        "ensembles": [{"label": s.label, "count": len(ensemble_groups(s)), "members": len(ensemble_groups(s)[0]),
                       "trainings": len(s.models), "pooled": seeds[n]["accuracy"].get("subsets")}
                      for n, s in specs.items() if s.kind == "ensemble"],
        "multiplicity": metrics.get("summary", {}).get("multiplicity"), "rows": rows,
        "repeated": [s.label for s in specs.values() if s.models and len(recipes[s.label]) < len(s.models)],
        "mixed": [(s.label, rates[s.label]) for s in specs.values() if s.kind != "ensemble" and len(rates[s.label]) > 1],
        "seeds": [{"label": s.label, "values": seeds[n]} for n, s in specs.items()], "first_ood": first_ood(),
        "temperatures": [{"label": specs[n].label, "model": m, **t} for n, by in temperature.items() for m, t in by.items()],
        "costs": [
            {"label": specs[n].label, **c, "fit_seconds": c["fit_seconds"] or None, "values": seeds[n]}
            for n, c in costs.items() if n in specs
        ],
        "curves": nll and {
            "passes": int(passes[-1]["passes"]), "nll": nll, "within": first_within(passes, nll * 1.01, "passes"),
            "match": first_within(members, nll, "members"), "members": int(members[-1]["members"]),
            "ensemble_nll": members[-1]["nll"],
        },
        "misclassification": [
            {"label": s.label, "score": score_label(x), "summary": v} for n, s in specs.items()
            for x in KINDS[s.kind].scores if (v := lookup(seeds[n], ("misclassification_auroc", x)))
        ],
        "claims": claim_records(claims, params),
        "calibrators": _calibrator_records(found, specs, params.verdicts.comparisons),
        "per_seed": [
            {"label": specs[n].label, "model": m, "values": v}
            for n, by in per_seed.items() if n in specs and specs[n].of is None for m, v in by.items()
        ],
    }  # fmt: skip


CALIBRATION_METRICS = ("ece", "nll", "brier")  # what a calibrator is for, and what it may cost


def _calibrator_records(
    found: Mapping[str, Any], specs: Mapping[str, Any], comparisons: list[list[str]]
) -> list[dict[str, Any]]:
    """Each comparison of a calibrator beside temperature (uncertainty.methods.calibrators) on ECE, NLL and Brier, with
    whether it lowers the ECE while worsening NLL or Brier against the same trainings (binning does, on few
    calibration images)."""
    records = []
    for a, b in comparisons:
        if a not in specs or b not in specs or specs[a].kind not in CALIBRATORS:
            continue
        same_trainings = (
            b == specs[a].of or specs[b].of == specs[a].of
        )  # the uncalibrated or another calibration
        results = {m: lookup(found.get(a, {}).get(b, {}), (m,)) for m in CALIBRATION_METRICS}
        if any(r is None for r in results.values()):
            continue
        worse = [registry.label((m,)) for m in ("nll", "brier") if results[m]["verdict"] == "worse"]
        records.append({
            "a": specs[a].label, "b": specs[b].label, **results,
            "trade": same_trainings and results["ece"]["verdict"] == "better" and bool(worse), "worse": worse,
        })  # fmt: skip
    return records


def claim_records(claims: Mapping[str, Any], params: Any) -> list[dict[str, Any]]:
    return [
        {"statement": claim.statement, "evidence": claim.evidence(claims[key], params), "verdict": claims[key]["verdict"]}
        for key, claim in CLAIMS.items() if key in claims
    ]  # fmt: skip


def _laplace_link(spec: Any, fits: Mapping[str, Any]) -> dict[str, Any]:
    """A Laplace predictor's link and prior, the mean λ each prior's evidence picks, and the MC link's
    largest error of test NLL (standard error plus the bias of a log of a mean of draws)."""
    options = {**LAPLACE_DEFAULTS, **spec.options}
    errors = [
        r["mc_test"]["nll_standard_error"] + r["mc_test"]["nll_bias"] for r in fits.values() if "mc_test" in r
    ]
    return {
        "label": spec.label, "link": options["link"], "prior": options["prior"],
        **{f"lambda_{prior}": sum(r["prior_precision_by_prior"][prior] for r in fits.values()) / len(fits)
           for prior in ("isotropic", "identifiable")},
        "mc_samples": options["mc_samples"] if errors else None, "mc_error": max(errors, default=None),
    }  # fmt: skip


def posthoc(metrics: Mapping[str, Any], params: Any, seconds: Mapping[str, Any]) -> dict[str, Any] | None:
    """The post-hoc methods: the questions answered by verdicts, what was fitted and what it cost."""
    fits, found, specs = metrics.get("posthoc"), metrics.get("verdicts", {}), params.predictors
    methods = {n: s.label for n, s in specs.items() if KINDS[s.kind].posthoc or s.options.get("ood_score")}
    if not fits or not methods:
        return None
    words = {"ood": first_ood(), "words": INPUT_SETS[first_ood()].words, "label": set_label(first_ood())}
    questions = [
        (a, b, tuple(part.format(**words) for part in path), q.format(**words))
        for a, b, path, q in PUBLISHED["posthoc_questions"]
    ]
    firsts = {n: (specs[n].models[0], by[specs[n].models[0]]) for n, by in fits.items() if n in specs}
    return {
        "methods": methods, "descriptions": describe(params), "confidence": params.verdicts.confidence,
        "answers": [
            {"question": q, "a": specs[a].label, "b": specs[b].label, "metric": registry.label(path), "found": v}
            for a, b, path, q in questions if (v := lookup(found.get(a, {}).get(b, {}), path))
        ],
        "fits": [
            {"label": specs[n].label, "model": m, "record": by[m], **seconds.get(n, {}).get(m, {})}
            for n, by in fits.items() if n in specs for m in specs[n].models if m in by
        ],
        "links": [_laplace_link(specs[n], by) for n, by in fits.items() if n in specs and specs[n].kind == "laplace"],
        "grids": [
            {"title": f"{specs[n].label}, {model}", **record, "rows": [
                {"lam": lam, "evidence": evidence, "nll": nll} for lam, evidence, nll in
                zip(record["grid"]["prior_precision"], record["grid"]["log_evidence"], record["grid_test_nll"])
            ]} for n, (model, record) in firsts.items() if "grid_test_nll" in record
        ],
    }  # fmt: skip


def conformal(metrics: Mapping[str, Any], params: Any, class_names: Sequence[str]) -> dict[str, Any] | None:
    """Split conformal prediction sets: coverage and size with intervals, per class, under rotation, on OOD sets."""
    found, specs, c = metrics.get("conformal"), params.predictors, params.conformal
    if not found:
        return None
    shown, names = (
        [n for n in specs if n in found],
        [name for name, _, _ in variants(c.scores, c.mondrian_score)],
    )
    alphas = [a for a in CONFORMAL_ALPHAS if a in c.alphas] or [c.alphas[0]]
    head, first, mondrian = format_number(alphas[0]), names[0], f"{c.mondrian_score}_mondrian"
    entries = {specs[n].label: found[n][first][head] for n in shown}  # score `first`, alpha `head`
    return {
        "params": c, "scores": names, "mondrian": mondrian, "head": alphas[0], "first": first, "classes": class_names,
        "confidence": params.verdicts.confidence, "ood_sets": ood_sets(), "stutz": PUBLISHED["stutz_2022"],
        "angles": [a for a in ROTATION_ANGLES if a in params.shift.angles],
        "by_size": [{"label": label, **entry["coverage_by_size"]} for label, entry in entries.items()],
        "rotated": [{"label": label, "rotated": entry["rotated"]} for label, entry in entries.items() if entry["rotated"]],
        "sizes": sorted({int(size) for entry in entries.values() for size in entry["coverage_by_size"]}),
        "same_as": {specs[a].label: specs[b].label for a, b in found.get("same_as", {}).items()},
        "main": [
            {"label": specs[n].label, "score": v, "alpha": a, **found[n][v][format_number(a)]}
            for a in alphas for v in names for n in shown
        ],
        "smallest": [
            {"score": v, "alpha": a, **s, "best": specs[s["best"]].label, "runner_up": specs[s["runner_up"]].label}
            if "runner_up" in s else {"score": v, "alpha": a, **s, "best": specs[s["best"]].label, "runner_up": None}
            for v in names for a in alphas if (s := found["smallest_sets"][v][format_number(a)])
        ],
        "per_class": [
            {"label": specs[n].label, "score": v, "coverage": found[n][v][head]["per_class_coverage"]}
            for v in (first, mondrian) if v in names for n in shown
        ],
        "ood": [
            {"label": label, "set": set_label(s), **entry["ood"][s], "size_auroc": entry["size_auroc"][s],
             "one_class": (entry["size_histogram"][s] + [0, 0])[1]}
            for label, entry in entries.items() for s in ood_sets()
        ],
        "literature": [
            (s.upper(), theirs, found["plain"][s]["0.01"]["mean_size"]) for s, theirs in PUBLISHED["stutz_2022"].items()
            if 0.01 in c.alphas and s in found.get("plain", {})
        ],
    }  # fmt: skip


def corruption(
    metrics: Mapping[str, Any], params: Any, parameters: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """Under corruption: the corruptions, every predictor's means over corruptions per severity with intervals,
    the claim under shift, the corruptions that cost calibration most, telling corrupted from clean."""
    table, seeds, found, claims = (metrics.get(k) for k in ("corruption", "seeds", "conformal", "claims"))
    if not (table and seeds and found) or claims is None:
        return None
    p, specs = params.corrupt, params.predictors
    shown = corrupted.distinct(specs, table)
    severities = [s for s in (1, 3, 5) if s in p.severities] or p.severities
    alpha = format_number(p.conformal_alpha)
    rows = []
    for n in shown:  # a predictor the conformal stage left out as a twin has its twin's sets
        sets = found.get(found["same_as"].get(n, n), {}).get(p.conformal_score, {}).get(alpha, {})
        row = {"label": specs[n].label, "trainings": seeds[n]["accuracy"].get("seeds")}
        for s in severities:
            for metric in ("accuracy", "nll", "ece"):  # one training where its others were not inferred there
                row[f"{metric}_{s}"] = lookup(seeds[n], ("corrupted", metric, str(s))) or {
                    "mean": table[n]["severity"][str(s)][metric]
                }
            row[f"coverage_{s}"] = lookup(sets, ("corrupted", "severity", str(s), "coverage"))
        rows.append(row)
    at = str((p.verdict_severities or severities)[0])
    # What a corruption costs calibration: its ECE at the heat map's severity minus the clean ECE on the same
    # images, averaged over the predictors shown (their first trainings).
    cost = {
        c: sum(table[n]["conditions"][c][at]["ece"] - table[n]["clean"]["ece"] for n in shown) / len(shown)
        for c in p.corruptions
    }
    return {
        "params": p, "n": p.test_limit,
        "conditions": len(p.corruptions) * len(p.severities),
        "parameters": [{**r, "levels": ", ".join(r["levels"])} for r in parameters], "severities": severities,
        "rows": rows, "at": at, "claims": [c for c in claim_records(claims, params) if "Ovadia" in c["statement"]],
        "worst": sorted(cost.items(), key=lambda item: -item[1])[:3],
        "mc_models": params.infer.shift_mc_models,
        "missing": [specs[n].label for n in specs if n not in table and specs[n].of is None],
        "detection": [{"label": specs[n].label, "score": score_label(ood_score_of(specs[n])), **{str(s): table[n]["severity"][str(s)]["shift_auroc"] for s in p.severities}} for n in shown],
        "references": PUBLISHED["corruption_references"],
    }  # fmt: skip
