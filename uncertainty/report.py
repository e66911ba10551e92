"""The report: every section a Jinja2 template (uncertainty/templates/) fed records.

A section's builder below reads the metrics files and tables and returns its records: names and
numbers as the files hold them, nothing formatted. Its template holds the prose and declares each
table's columns as [header, key, format] (`table`: the key a dotted path, or a list of parts, into
a record; the format one of FORMATS), its headings (`heading`: they make the table of contents) and
its collapsible parts (`details`). Nothing is typed by hand but the numbers the article and the
literature published (templates/published.yaml).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import markdown
import pandas as pd
import yaml
from markupsafe import Markup

from uncertainty import corrupted, statistics
from uncertainty import metric_registry as registry
from uncertainty.article import not_the_article
from uncertainty.calibrators import CALIBRATORS
from uncertainty.claims import CLAIMS
from uncertainty.conformal import variants
from uncertainty.fashion_mnist import CLASS_NAMES as ARTICLE_CLASSES  # the article's numbers name its classes
from uncertainty.names import format_number
from uncertainty.predictors import KINDS, LAPLACE_DEFAULTS, describe, ensemble_groups, repeats
from uncertainty.predictors import ood_score as ood_score_of
from uncertainty.verdicts import lookup
from uncertainty.vocabulary import INPUT_SETS, first_ood, ood_sets, score_label, set_label

TEMPLATES = Path(__file__).resolve().parent / "templates"  # found from any working directory
PUBLISHED = yaml.safe_load((TEMPLATES / "published.yaml").read_text())
TITLE = "Uncertainty in deep learning: the article, reproduced and measured"
CONFORMAL_ALPHAS = (0.05, 0.01)  # the levels of the conformal tables (where conformal.alphas has them)
ROTATION_ANGLES = (0, 30, 90)  # the columns of the conformal rotation table (where shift.angles has them)


# --------------------------------------------------------------------------- formats: what a cell shows


def interval(summary: Mapping[str, Any], digits: int = 4) -> str:
    """'[low, high]', with † where an end was clipped to the metric's range (uncertainty.statistics.clip)."""
    mark = " †" if summary.get("clipped") else ""
    return f"[{summary['low']:.{digits}f}, {summary['high']:.{digits}f}]{mark}"


def with_spread(summary: Mapping[str, Any], digits: int = 4) -> str:
    """'0.9110 ± 0.0021 (t [0.9084, 0.9136]; seeds and images [0.9050, 0.9170])'; one seed: 'x (images [..])'."""
    text = f"{summary['mean']:.{digits}f}"
    if "subsets" in summary:  # a pool: the mean over its ensembles, the jackknife over trainings
        return f"{text} (mean of {summary['subsets']} ensembles; trainings and images {interval(summary, digits)})"
    if "std" not in summary:
        return f"{text} (images {interval(summary, digits)})"
    t = f"t [{summary['t_low']:.{digits}f}, {summary['t_high']:.{digits}f}]"
    return f"{text} ± {summary['std']:.{digits}f} ({t}; seeds and images {interval(summary, digits)})"


# How a cell or a sentence shows a value; a format's name may end in its digits ("fixed4", "percent1").
FORMATS: dict[str, Callable[..., str]] = {
    "text": str,
    "bold": lambda value: f"**{value}**",
    "thousands": lambda value: f"{value:,}",
    "general": lambda value: f"{value:g}",
    "degrees": lambda value: f"{value}°",
    "precision": lambda value: f"{value:.4g}",
    "p_kept": lambda result: f"{result['p_adjusted']:.3g}" + (" ✓" if result["survives"] else ""),
    "shift_point": lambda at: f"{at['accuracy']:.3f} / {at['nll']:.2f} / {at['ece']:.3f} / {at['entropy']:.2f}",
    "size_coverage": lambda size: f"{size['coverage']:.3f} ({size['images']:,})",
    "fixed": lambda value, digits=4: f"{value:.{digits}f}" if isinstance(value, float) else str(value),
    "percent": lambda value, digits=1: f"{100 * value:.{digits}f} %",
    "seconds": lambda value, digits=0: f"{value:.{digits}f} s",
    "signed": lambda value, digits=4: f"{value:+.{digits}f}",
    "interval": interval,
    "mean_interval": lambda s, digits=4: f"{s['mean']:.{digits}f} {interval(s, digits)}",
    # an estimate with its interval where it has one (one training: the mean alone, marked)
    "estimate": lambda s, digits=4: f"{s['mean']:.{digits}f} " + (interval(s, digits) if "low" in s else "(one training)"),
    "difference_interval": lambda r, digits=4: f"{r['difference']:+.{digits}f} {interval(r, digits)}",
    "t_interval": lambda s, digits=3: f"{s['mean']:.{digits}f}" + (f" [{s['t_low']:.{digits}f}, {s['t_high']:.{digits}f}]" + (" †" if s.get("clipped") else "") if "t_low" in s else ""),
    "spread": with_spread,
}  # fmt: skip


def cell(value: Any, format: str = "text") -> str:
    """A value as `format` shows it (FORMATS, with its digits); a missing one as "–"."""
    name, digits = re.fullmatch(r"(\D+?)(\d*)", format).groups()  # type: ignore[union-attr]
    return "–" if value is None else FORMATS[name](value, *([int(digits)] if digits else []))


def _at(record: Any, key: str | Sequence[Any]) -> Any:
    """The value of a record at a dotted key (or a list of parts); None where it has none."""
    for part in key.split(".") if isinstance(key, str) else key:
        try:
            record = record[part]
        except (KeyError, IndexError, TypeError):
            return None
    return record


def table(records: Sequence[Any], columns: Sequence[Sequence[Any]]) -> str:
    """One row per record, one cell per declared column [header, key, format (default text)], as a GitHub
    pipe table: no number re-parsing ("0.000000" keeps its digits), no alignment colons (inline styles
    on every HTML cell), a "|" in a cell escaped."""
    rows = [[cell(_at(record, c[1]), *c[2:]).replace("|", r"\|") for c in columns] for record in records]
    frame = pd.DataFrame(rows, columns=[c[0].replace("|", r"\|") for c in columns], dtype=object)
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def metric_columns(file: str, key: Sequence[Any] = (), sets: Sequence[str] = ()) -> list[list[Any]]:
    """The registry's metrics of one evaluate file as table columns (per OOD set for the OOD metrics)."""
    found = [m for m in registry.METRICS if m.file == file]
    if sets:
        return [[m.header(s), [*key, s, m.file_key], f"fixed{m.digits}"] for m in found for s in sets]
    return [[m.header(), [*key, m.file_key], f"fixed{m.digits}"] for m in found]


def path_columns(paths: Sequence[registry.MetricPath], key: Sequence[Any], format: str) -> list[list[Any]]:
    """Columns of metric paths in a nested table, headed by the registry's words."""
    return [[registry.label(path), [*key, *path], format] for path in paths]


# --------------------------------------------------------------------------- one rendering of the page


def slug(title: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


class Page:
    """One rendering of the report, for Markdown or for the HTML page, and what its templates declared.

    `heading` records each heading (the table of contents lists them); `details` makes a block
    collapsible: the <details> lines GitHub renders in Markdown, a marker for HTML that `html`
    replaces after the Markdown conversion (which lets no raw HTML through: a value stays text).
    """

    def __init__(self, for_html: bool) -> None:
        self.for_html, self.headings, self.summaries = (
            for_html,
            list[tuple[int, str]](),
            list[tuple[bool, str]](),
        )

    def heading(self, level: int, title: str) -> str:
        self.headings.append((level, title))
        return f"{'#' * level} {title}"

    def details(self, summary: str, open: bool = False, caller: Callable[[], str] | None = None) -> str:
        body = caller().strip("\n") if caller else ""
        if self.for_html:
            self.summaries.append((open, summary))
            return f"DETAILS-OPEN-{len(self.summaries) - 1}\n\n{body}\n\nDETAILS-CLOSE\n"
        return f"<details{' open' if open else ''}><summary>{summary}</summary>\n\n{body}\n\n</details>\n"

    def render(self, name: str, **context: Any) -> str:
        """One template; a Markdown section ends with one newline (the sections are joined by another)."""
        text = environment().get_template(name).render(heading=self.heading, details=self.details, **context)
        return text.rstrip("\n") + "\n"


@functools.cache
def environment() -> jinja2.Environment:
    """A missing variable raises instead of rendering as nothing; only the HTML template is escaped
    (the Markdown is escaped once, when `html` converts it)."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters.update(fmt=cell)
    templates.globals.update(
        table=table, metric_columns=metric_columns, path_columns=path_columns, label=registry.label,
        format_number=format_number, published=PUBLISHED,
    )  # fmt: skip
    return templates


def html(markdown_text: str, summaries: Sequence[tuple[bool, str]], title: str = TITLE) -> str:
    """One self-contained page (inline style, figures beside it, nothing fetched from the network); the
    collapsible parts are Page.details' markers; headings get GitHub's anchors, as the contents link."""
    toc = {"toc": {"slugify": lambda s, _: slug(s)}}
    converter = markdown.Markdown(extensions=["tables", "fenced_code", "toc"], extension_configs=toc)
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    body = converter.convert(markdown_text).replace("<p>DETAILS-CLOSE</p>", "</details>")
    for index, (is_open, summary) in enumerate(summaries):
        opening = f"<details{' open' if is_open else ''}><summary>{escape(summary)}</summary>"
        body = body.replace(f"<p>DETAILS-OPEN-{index}</p>", opening)
    # Each figure links to itself: shown smaller than its file, it opens whole in one click.
    body = re.sub(r'(<img alt="[^"]*" src="([^"]+)" />)', r'<a href="\2">\1</a>', body)
    return environment().get_template("report.html.j2").render(title=title, body=Markup(body))


def run_title(data: Mapping[str, Any]) -> str:
    """The page's title: the article's, or the user's models and data."""
    if data["article"]:
        return TITLE
    models = data["models"]
    named = models[0] if len(models) == 1 else f"{len(models)} models"
    return f"Uncertainty of {named} on {data['name']}: every method measured"


def data_record(
    name: str, source: str, class_names: Sequence[str], ood_words: Sequence[str], train: Any
) -> dict[str, Any]:
    """What every template knows of the run: the data (data/dataset.json), its models (params.train), and
    `article`: whether this is the article's run (uncertainty.article), else `not_article`, why not."""
    reason = not_the_article(source, train)
    imported = [f"{n} ({m.file})" for n, m in train.models.items() if m.file]
    return {
        "name": name, "source": source, "class_names": list(class_names), "article": reason is None,
        "not_article": reason, "ood_words": " and ".join(ood_words), "models": list(train.models),
        "imported": imported, "builder": f"{train.builder.file}:{train.builder.function}",
        "trainings": len(train.models),
    }  # fmt: skip


def render(
    sections: Sequence[tuple[str, Mapping[str, Any] | None]],
    first: Mapping[str, Any],
    data: Mapping[str, Any],
) -> tuple[str, str]:
    """The report as Markdown and as one HTML page: the summary (`first`), the contents (every heading
    the sections' templates declared), then the sections; a section without records is left out. Every
    template also gets `data` (`data_record`)."""

    def one(for_html: bool) -> tuple[str, Page]:
        page = Page(for_html)
        body = [page.render(name, data=data, **context) for name, context in sections if context is not None]
        entries = [(level, title, slug(title)) for level, title in page.headings]
        opening = [
            page.render("summary.md.j2", data=data, title=run_title(data), **first),
            page.render("contents.md.j2", data=data, entries=entries),
        ]
        return "\n".join(opening + body), page

    markdown_text, _ = one(for_html=False)
    marked, page = one(for_html=True)
    return markdown_text, html(marked, page.summaries, run_title(data))


# --------------------------------------------------------------------------- the sections' records


def same_probabilities(
    predictors: Any, evaluation: Mapping[str, Any], shift: Mapping[str, Any]
) -> dict[str, str]:
    """predictor -> the earlier predictor whose test-set and shift metrics it repeats exactly."""
    return repeats(predictors, lambda a, b: evaluation[a] == evaluation[b] and shift[a] == shift[b])


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
    if not (evaluation and ood and selective and shift):
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
        "beside": {"density": density, "entropy": entropy} if density and entropy else None,
        "quality": [{"label": spec.label, "values": evaluation[n]} for n, spec in shown.items()],
        "scored": [
            {"label": every[n].label, "score": score_label(s), "values": selective[n][s],
             "sets": {x: ood[x][n][s] for x in ood_sets()}}
            for n, s in scored
        ],
        "shift": [{"angle": a, **{n: shift[n][str(a)] for n in shown}} for a in params.shift.angles],
        "shown": shown, "predictors": every, "descriptions": describe(params),
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
    """Each comparison of a calibrator beside temperature (uncertainty.calibrators) on ECE, NLL and Brier, with
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
    """One line: 'Intel(R) Xeon(R) ... (x86_64), avx2 avx512f avx512_bf16, 2 threads'."""
    isa = info.get("isa", {})
    present = [flag for flag, has in isa.items() if has] if isinstance(isa, Mapping) else []
    return f"{info['cpu_model']} ({info['architecture']}), {' '.join(present) or 'no AVX2'}, {info['threads']} threads"
