"""Stage: render reports/report.md and reports/index.html from the metrics JSON files and figures.

Every number in the report is read from reports/metrics/*.json; the page ends
with the params and library versions that produced it.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from stages.cli import parse_paths
from stages.common import run
from uncertainty.core.io import read_json, write_text
from uncertainty.core.machine import machine_info
from uncertainty.core.params import PARAMS_FILE
from uncertainty.core.schema.params import SECTIONS
from uncertainty.core.vocabulary import use_data_sets
from uncertainty.data.corruptions import parameter_table
from uncertainty.data.dataset_info import read_info
from uncertainty.methods.predictors import KINDS
from uncertainty.report import page, sections, summary

PACKAGES = ("tensorflow-cpu", "keras", "dvc", "numpy", "scikit-learn", "matplotlib", "mlxtend")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except Exception:  # a package installed under another name (e.g. tensorflow)
            found[package] = "not installed"
    return found


def machines(machine_dir: Path) -> dict[str, str]:
    """Which CPU trained (train_*.json) and ran (infer_*.json) which model, and the one rendering this report."""
    rows: dict[str, str] = {}
    for verb, kind in (("trained", "train"), ("inferred", "infer")):
        by_machine: dict[str, list[str]] = {}
        for path in sorted(machine_dir.glob(f"{kind}_*.json")):
            description = summary.describe_machine(read_json(path)["machine"])
            by_machine.setdefault(description, []).append(path.stem.removeprefix(f"{kind}_"))
        rows.update({f"{verb} {', '.join(models)} on": text for text, models in by_machine.items()})
    rows["report rendered on"] = summary.describe_machine(machine_info())
    return rows


def costs(
    params: Any,
    machine_dir: Path,
    posthoc: Mapping[str, Mapping[str, Any]],
    calibrations: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per predictor of the registry (one training of it): trainings x epochs, seconds, passes, fit seconds.

    A one-model predictor's seconds are the means over its trainings; the ensemble costs the sum over its
    members; a calibrated predictor costs what it calibrates plus its fit (`calibrations`: predictor ->
    instance -> seconds, the temperature stage's machine record; a temperature's takes well under a second); a
    post-hoc predictor adds its fit on the training features and its test-set seconds (`posthoc`:
    predictor -> model -> seconds, the posthoc stage's machine record).
    Read from machine_dir (measurements, not results: they vary run to run): train_<model>.json from the
    train stages, infer_<model>.json from the infer stages.
    """

    def record(kind: str, model: str) -> dict[str, Any] | None:
        path = machine_dir / f"{kind}_{model}.json"
        return read_json(path) if path.is_file() else None

    found: dict[str, dict[str, Any]] = {}
    for name, spec in params.predictors.items():
        if spec.of is not None:
            if spec.of in found:
                fits = [r["fit_seconds"] for r in (calibrations or {}).get(name, {}).values()]
                found[name] = {**found[spec.of], "fit_seconds": found[spec.of]["fit_seconds"] + _mean(fits)}
            continue
        trained = [record("train", m) for m in spec.models]
        inferred = [record("infer", m) for m in spec.models]
        if not all(trained) or not all(inferred):
            continue
        # one ensemble is `members` trainings (all its models by default); anything else is one
        trainings = (spec.options.get("members") or len(spec.models)) if spec.kind == "ensemble" else 1
        share = trainings / len(spec.models)  # the mean over models, times the trainings of one instance
        # A plain kind on a dropout CNN also run with dropout off (infer.also_without_dropout): one pass.
        off = KINDS[spec.kind].cnns == "plain" and all(
            "test_set_seconds_without_dropout" in r for r in inferred
        )
        found[name] = {
            "trainings": trainings,
            "epochs": trained[0]["epochs"],
            "train_seconds": share * sum(r["train_seconds"] for r in trained),
            "passes_per_image": trainings * (1 if off else inferred[0]["passes_per_image"]),
            "test_seconds": share
            * sum(r["test_set_seconds_without_dropout" if off else "test_set_seconds"] for r in inferred),
            "fit_seconds": 0.0,
        }
        fits = [posthoc.get(name, {}).get(m) for m in spec.models]
        if all(fits):
            found[name]["fit_seconds"] = share * sum(r["fit_seconds"] for r in fits)
            found[name]["test_seconds"] += share * sum(r["test_set_seconds"] for r in fits)
    return found


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def curves(passes: Path, members: Path) -> dict[str, list[dict[str, float]]]:
    """Quality against MC passes T and ensemble size M (the verdicts stage's CSVs), as records."""
    found = {}
    for name, path in (("passes", passes), ("members", members)):
        if path.is_file() and path.stat().st_size:  # empty: the run has no such predictor
            found[name] = pd.read_csv(path).to_dict("records")
    return found


def main(params: Any, paths: argparse.Namespace) -> None:
    info = read_info(paths.info)
    use_data_sets(info.ood, info.noise)  # the data's own OOD sets join the vocabulary
    metrics = page.results(paths.metrics_dir, paths.tables_dir)
    seconds = {  # the post-hoc fits' seconds, the calibrators'
        stage: read_json(path)["seconds"] if (path := paths.machine_dir / f"{stage}.json").is_file() else {}
        for stage in ("posthoc", "temperature")
    }
    spent = costs(params, paths.machine_dir, seconds["posthoc"], seconds["temperature"])
    data = page.data_record(
        info.name,
        info.source,
        info.class_names,
        [words["words"] for words in info.ood.values()],
        params.train,
        info.saved,
    )
    parts = [  # in the page's order: each a template and its records (None: left out)
        ("health.md.j2", summary.health(metrics, params)),  # only when a model has not learned
        ("article.md.j2", sections.article(metrics, params, info.class_names) if data["article"] else None),
        ("beyond.md.j2", sections.beyond(metrics, params)),
        (
            "verdicts.md.j2",
            sections.verdicts(metrics, params, spent, curves(paths.curve_passes, paths.curve_members)),
        ),
        ("posthoc.md.j2", sections.posthoc(metrics, params, seconds["posthoc"])),
        ("conformal.md.j2", sections.conformal(metrics, params, info.class_names)),
        (
            "corruption.md.j2",
            sections.corruption(
                metrics, params, [r for r in parameter_table() if r["name"] in params.corrupt.corruptions]
            ),
        ),
        (
            "provenance.md.j2",
            summary.provenance(PARAMS_FILE.read_text(), versions(), machines(paths.machine_dir)),
        ),
    ]
    text, page_html = page.render(parts, summary.summary(metrics, params, spent), data)
    write_text(paths.markdown, text)
    write_text(paths.html, page_html)
    print(f"report: {paths.html.resolve()} (and {paths.markdown})")


if __name__ == "__main__":
    run(
        main,
        SECTIONS,
        parse_paths(
            __doc__,
            {
                "info": "the data's class names, image shape and OOD sets, JSON (prepare_data stage)",
                "metrics-dir": "every metrics JSON, each a section's numbers",
                "tables-dir": "the full tables behind them (they replace a metrics file of the same name)",
                "machine-dir": "train_<model>.json and infer_<model>.json: CPUs and seconds",
                "curve-passes": "quality against MC passes T (verdicts stage)",
                "curve-members": "quality against ensemble size M (verdicts stage)",
                "markdown": "the report, Markdown (it links the figures as figures/<name>.png)",
                "html": "the same, HTML",
            },
        ),
    )
