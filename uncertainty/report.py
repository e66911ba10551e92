"""The report: the article's experiments with this run's numbers beside the article's.

Every number in a table is read from the metrics JSON files; nothing is typed
by hand except the article's own published figures (ARTICLE below). The prose
and layout live in Jinja2 templates (uncertainty/templates/), the tables are
built here as rows and written by pandas/tabulate, so wording can change
without touching code and no table is joined by hand.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import markdown
import pandas as pd
from markupsafe import Markup

from uncertainty import metric_registry as registry
from uncertainty.claims import CLAIMS
from uncertainty.conformal import variants
from uncertainty.metric_registry import MetricPath
from uncertainty.names import format_number
from uncertainty.ood_inputs import OOD_SETS
from uncertainty.predictors import KINDS, ensemble_groups, repeats
from uncertainty.verdicts import lookup
from uncertainty.vocabulary import FIRST_OOD, INPUT_SETS, OWN_SCORE, score_label, set_label

# Next to this file, so `python -m stages.report` finds them from the project root or anywhere else.
TEMPLATES = Path(__file__).resolve().parent / "templates"

# The article's published numbers (docs/article.md), shown beside ours.
ARTICLE = {
    "pred_at_15": {"ones": 31.22, "normal": 30.97, "he_uniform": 31.23},
    "plain_test_accuracy": 0.9014,
    "plain_train_accuracy": 0.955,
    "noise_plain": (6, 0.801),
    "noise_dropout_mean": (6, 0.598),
    "noise_single_pass_class0": (0.037, 0.045, 0.0098, 0.018),
    "batch_accuracy_plain": 0.875,
    "batch_accuracy_mc_median": 0.867,
}

# Published reference numbers from the literature, labelled as theirs with their setups.
REFERENCES = [
    (
        "google/uncertainty-baselines, LeNet-5 (~60k params), mean of 10 runs",
        "deterministic: accuracy 91.0 %, NLL 0.321; ensemble of 10: accuracy 93.2 %, NLL 0.200, ECE 0.010 (10 bins)",
    ),
    (
        "DUQ (van Amersfoort et al. 2020), Fashion-MNIST in, MNIST out",
        "accuracy 92.4 %, AUROC 0.955 (10k test images in, MNIST out, same preprocessing)",
    ),
    (
        "DDU (Mukhoti et al. 2023), CIFAR-10 in, SVHN out, WideResNet-28-10 with spectral normalization",
        "AUROC 94.4 (softmax entropy) → 98.1 (feature density)",
    ),
    (
        "Laplace Redux (Daxberger et al. 2021), MNIST in, LeNet, last-layer Laplace",
        "mean max confidence on OOD sets 75.0 → 56.1 %, AUROC 96.5 → 96.4",
    ),
]

# The summary's jobs (keys of metrics/summary.json) in words.
JOB_LABELS = {job.key: job.label for job in registry.JOBS}

# Each predictor's AUROC on the data's first OOD set by the score it is judged by (Predictor.ood_score).
OWN_FIRST_OOD: MetricPath = ("ood_auroc", FIRST_OOD, OWN_SCORE)

# The per-seed table's columns.
PER_SEED_COLUMNS: tuple[MetricPath, ...] = (("accuracy",), ("nll",), ("ece",), OWN_FIRST_OOD)
# The per-predictor columns of the seeds table.
SEED_COLUMNS: tuple[MetricPath, ...] = (
    ("accuracy",),
    ("nll",),
    ("ece",),
    OWN_FIRST_OOD,
    ("ood_auroc", FIRST_OOD, "mutual_information"),
)


# --------------------------------------------------------------------------- formatting


def fixed(value: Any, digits: int = 4) -> str:
    """A float with `digits` decimals; "–" for a value that is missing (None); anything else as is."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def thousands(value: int) -> str:
    return f"{value:,}"


def general(value: float) -> str:
    """2.5 -> "2.5", 97.5 -> "97.5", 0.0 -> "0": the shortest form, as the params were written."""
    return f"{value:g}"


def interval(summary: Mapping[str, Any], digits: int = 4) -> str:
    return f"[{summary['low']:.{digits}f}, {summary['high']:.{digits}f}]"


def with_spread(summary: Mapping[str, Any], digits: int = 4) -> str:
    """'0.9110 ± 0.0021 (t [0.9084, 0.9136]; seeds and images [0.9050, 0.9170])'; one seed: 'x (images [..])'."""
    text = f"{summary['mean']:.{digits}f}"
    if "std" in summary:
        text += f" ± {summary['std']:.{digits}f} (t [{summary['t_low']:.{digits}f}, {summary['t_high']:.{digits}f}];"
        return text + f" seeds and images {interval(summary, digits)})"
    return text + f" (images {interval(summary, digits)})"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub pipe table of already formatted cells.

    tabulate must not parse the cells as numbers ("0.000000" would lose its digits), and the
    separator carries no alignment colons, which would put inline styles on every HTML cell.
    A "|" inside a cell is escaped so it cannot split the cell.
    """
    cells = [[str(cell).replace("|", r"\|") for cell in row] for row in rows]
    frame = pd.DataFrame(cells, columns=[column.replace("|", r"\|") for column in columns], dtype=object)
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


# --------------------------------------------------------------------------- templates


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment: a missing variable raises instead of rendering as nothing.

    Only the HTML template is autoescaped; Markdown has no HTML escaping of its own, and the
    Markdown text is escaped once, when render_html converts it.
    """
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters.update(
        fixed=fixed, percent=percent, thousands=thousands, general=general, interval=interval
    )
    return templates


def render_template(name: str, **context: Any) -> str:
    """One template of uncertainty/templates/ rendered with `context`.

    A Markdown section ends with exactly one newline: stages/report.py joins the sections
    with another, which makes the blank line between them.
    """
    text = environment().get_template(name).render(**context)
    return text.rstrip("\n") + "\n" if name.endswith(".md.j2") else text


# --------------------------------------------------------------------------- the article's experiments


def render_markdown(
    metrics: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any],
    class_names: tuple[str, ...],
) -> str:
    """Markdown report; `metrics` maps a metrics file's stem (e.g. "train_plain") to its content.

    Figure paths are relative to reports/.
    """
    regression, noise, batch = metrics["regression"], metrics["noise"], metrics["mc_batch"]
    regression_params, train_params, noise_params = params.regression, params.train, params.noise

    def class_label(index: int) -> str:
        return f"{index} ({class_names[index]})"

    # The regression stage names its metrics after the x it predicts at, written by format_number.
    predict_at = format_number(regression_params.predict_at)
    predictions = regression[f"pred_at_{predict_at}"]
    regression_rows = [  # in params order (ones, normal, he_uniform), not the JSON's sorted order
        [name, fixed(predictions[name], 2), fixed(ARTICLE["pred_at_15"].get(name), 2)]
        for name in regression_params.seeds
    ]
    mean, std = regression[f"pred_at_{predict_at}_mean"], regression[f"pred_at_{predict_at}_std"]
    regression_rows.append(["mean ± std (ddof 0)", f"{mean:.2f} ± {std:.2f}", "–"])
    spreads = {
        format_number(where): regression[f"spread_at_{format_number(where)}"]
        for where in regression_params.spread_at
    }

    trained_models = [name for name in train_params.models if f"train_{name}" in metrics]
    article_training = {
        "plain": f"train {ARTICLE['plain_train_accuracy']}, test {ARTICLE['plain_test_accuracy']}"
    }
    model_rows = []
    for name in trained_models:
        spec, trained = train_params.models[name], metrics[f"train_{name}"]
        model_rows.append(
            [
                f"{name} (dropout {spec.dropout_rate:g}, seed {spec.seed})",
                f"{trained['params']:,}",
                fixed(trained["train_accuracy"]),
                fixed(trained["test_accuracy"]),
                fixed(trained["test_loss"]),
                article_training.get(name, "–"),
            ]
        )

    singles = noise["dropout_single_pass_class0"]
    article_plain, article_mean = ARTICLE["noise_plain"], ARTICLE["noise_dropout_mean"]
    noise_rows = [
        [
            "plain CNN: top class, probability",
            f"{class_label(noise['plain']['top_class'])}, {percent(noise['plain']['top_prob'])}",
            f"{class_label(article_plain[0])}, {percent(article_plain[1])}",
        ],
        [
            f"plain CNN: max difference over {noise_params.repeats} repeats",
            fixed(noise["plain_repeat_max_abs_diff"], 6),
            "0 (identical)",
        ],
        [
            f"dropout CNN: class 0 in {len(singles)} single passes",
            ", ".join(percent(value, 2) for value in singles.values()),
            ", ".join(percent(value, 2) for value in ARTICLE["noise_single_pass_class0"]),
        ],
        [
            f"dropout CNN: mean of {noise_params.mean_passes} passes",
            f"{class_label(noise['dropout_mean']['top_class'])}, {percent(noise['dropout_mean']['top_prob'])}",
            f"{class_label(article_mean[0])}, {percent(article_mean[1])}",
        ],
    ]

    batch_rows = [
        ["plain CNN", fixed(batch["accuracy_plain"], 3), fixed(ARTICLE["batch_accuracy_plain"], 3)],
        [
            "MC dropout, median",
            fixed(batch["accuracy_mc_median"], 3),
            fixed(ARTICLE["batch_accuracy_mc_median"], 3),
        ],
        ["MC dropout, mean", fixed(batch["accuracy_mc_mean"], 3), "–"],
    ]

    return render_template(
        "article.md.j2",
        regression_table=markdown_table(
            ["first-layer initializer", f"prediction at x = {predict_at} (this run)", "article"],
            regression_rows,
        ),
        spreads=spreads,
        train_params=train_params,
        models_table=markdown_table(
            ["model", "parameters", "train accuracy (last epoch)", "test accuracy", "test loss", "article"],
            model_rows,
        ),
        trained_models=trained_models,
        noise_table=markdown_table(["prediction", "this run", "article"], noise_rows),
        batch_params=params.mc_batch,
        batch=batch,
        batch_table=markdown_table(["accuracy on the batch", "this run", "article"], batch_rows),
    )


# --------------------------------------------------------------------------- beyond the article


def render_beyond(metrics: Mapping[str, Mapping[str, Any]], params: Any) -> str:
    """The "Beyond the article" section: whole test set, OOD, selective prediction, shift."""
    evaluation, ood, selective, shift = (metrics.get(k) for k in ("eval", "ood", "selective", "shift"))
    if not (evaluation and ood and selective and shift):
        return ""
    every = {name: spec for name, spec in params.predictors.items() if name in evaluation}
    coverages = params.evaluate.coverages
    # A predictor that only adds a score (energy, feature density) has an earlier one's probabilities,
    # so its quality and shift rows are that one's: shown once, and only its own scores are added.
    twin_of = same_probabilities(every, evaluation, shift)
    predictors = {name: spec for name, spec in every.items() if name not in twin_of}

    def scores_of(name: str) -> list[str]:
        scores = KINDS[every[name].kind].scores
        if name in twin_of:
            return [s for s in scores if s not in KINDS[every[twin_of[name]].kind].scores]
        return list(scores)

    by_file = {file: [m for m in registry.METRICS if m.file == file] for file in ("eval", "selective", "ood")}
    evaluation_rows = [
        [spec.label, *(fixed(evaluation[name].get(m.file_key), m.digits) for m in by_file["eval"])]
        for name, spec in predictors.items()
    ]
    ood_rows = [
        [
            spec.label,
            score_label(score),
            *(
                fixed(ood[set_name][name][score].get(m.file_key), m.digits)
                for m in by_file["ood"]
                for set_name in OOD_SETS
            ),
        ]
        for name, spec in every.items()
        for score in scores_of(name)
    ]
    selective_rows = [
        [
            spec.label,
            score_label(score),
            *(fixed(selective[name][score].get(m.file_key), m.digits) for m in by_file["selective"]),
            *(fixed(selective[name][score]["accuracy_at"][format_number(c)]) for c in coverages),
        ]
        for name, spec in every.items()
        for score in scores_of(name)
    ]
    shift_rows = []
    for angle in params.shift.angles:
        row = [f"{angle}°"]
        for name in predictors:
            at = shift[name][str(angle)]
            row.append(f"{at['accuracy']:.3f} / {at['nll']:.2f} / {at['ece']:.3f} / {at['entropy']:.2f}")
        shift_rows.append(row)

    return render_template(
        "beyond.md.j2",
        ood=ood,
        first_ood=FIRST_OOD,
        predictors=every,
        twins={every[name].label: every[twin].label for name, twin in twin_of.items()},
        descriptions=describe_predictors(params),
        ood_params=params.ood,
        ece_bins=params.evaluate.ece_bins,
        shift_limit=params.shift.test_limit,
        evaluation_table=markdown_table(
            ["predictor", *(registry.label((m.name,)) for m in by_file["eval"])], evaluation_rows
        ),
        ood_table=markdown_table(
            [
                "predictor",
                "score",
                *(m.header(s) for m in by_file["ood"] for s in OOD_SETS),
            ],
            ood_rows,
        ),
        selective_table=markdown_table(
            [
                "predictor",
                "score",
                *(m.header() for m in by_file["selective"]),
                *(f"accuracy at {percent(c, 0)}" for c in coverages),
            ],
            selective_rows,
        ),
        shift_table=markdown_table(["angle", *(spec.label for spec in predictors.values())], shift_rows),
        references_table=markdown_table(["source and setup", "their numbers"], REFERENCES),
    )


def same_probabilities(
    predictors: Mapping[str, Any], evaluation: Mapping[str, Any], shift: Mapping[str, Any]
) -> dict[str, str]:
    """predictor -> the earlier predictor whose test-set and shift metrics it repeats exactly."""
    return repeats(predictors, lambda a, b: evaluation[a] == evaluation[b] and shift[a] == shift[b])


def describe_predictors(params: Any) -> dict[str, str]:
    """Each predictor of the registry in words, as its kind describes it."""
    return {name: KINDS[spec.kind].describe(spec, params) for name, spec in params.predictors.items()}


# --------------------------------------------------------------------------- provenance and the page


def describe_machine(info: Mapping[str, Any]) -> str:
    """One line: 'Intel(R) Xeon(R) ... (x86_64), avx2 avx512f avx512_bf16, 2 threads'."""
    isa = info.get("isa", {})
    present = [flag for flag, has in isa.items() if has] if isinstance(isa, Mapping) else []
    return f"{info['cpu_model']} ({info['architecture']}), {' '.join(present) or 'no AVX2'}, {info['threads']} threads"


def render_provenance(
    params_text: str, versions: Mapping[str, str], machines: Mapping[str, str] | None = None
) -> str:
    """The machines (CPU model, ISA flags, threads), params and library versions that produced this report.

    `machines`: what -> one-line description, e.g. "trained plain, dropout" -> "AMD EPYC (x86_64), avx2 ...".
    """
    rows = [[name, version] for name, version in versions.items()]
    rows += [[what, description] for what, description in (machines or {}).items()]
    here = (machines or {}).get("report rendered on")
    trained_elsewhere = [
        what.removeprefix("trained ").removesuffix(" on")
        for what, description in (machines or {}).items()
        if what.startswith("trained ") and description != here
    ]
    return render_template(
        "provenance.md.j2",
        components_table=markdown_table(["component", "version or machine"], rows),
        params_text=params_text.rstrip(),
        trained_elsewhere=", ".join(trained_elsewhere),
    )


def slug(title: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def render_summary(
    metrics: Mapping[str, Mapping[str, Any]], params: Any, costs: Mapping[str, Mapping[str, Any]]
) -> str:
    """The page's first screen: the title, which predictor to use for which job (with intervals and what it
    costs) and the article's claims in three words. From summary.json, seeds.json and claims.json."""
    summary, seeds, claims = (metrics.get(k, {}) for k in ("summary", "seeds", "claims"))
    labels = {name: spec.label for name, spec in params.predictors.items()}
    rows, recommended = [], []
    for job, found in summary.get("jobs", {}).items():
        best, other = found["best"], found["runner_up"]
        path = tuple(best["metric"])
        spread = lookup(seeds[best["predictor"]], path)
        row = [
            JOB_LABELS.get(job, job),
            f"**{labels[best['predictor']]}**",
            f"{registry.label(path)} {best['mean']:.4f} {interval(spread)}",
        ]
        if other is None:
            row += ["–", "–"]
        else:
            row += [
                f"{labels[other['predictor']]} ({other['mean']:.4f})",
                f"{found['difference']:+.4f} {interval(found)}: **{found['verdict']}**",
            ]
        rows.append(row)
        if best["predictor"] not in recommended:
            recommended.append(best["predictor"])
    cost_lines = [
        f"{labels[name]}: {cost['trainings']} training{'s' if cost['trainings'] > 1 else ''} of "
        f"{cost['epochs']} epochs ({cost['train_seconds']:.0f} s), {cost['passes_per_image']} "
        f"forward pass{'es' if cost['passes_per_image'] > 1 else ''} per image ({cost['test_seconds']:.1f} s "
        "for the test set)"
        + (f", a post-hoc fit of {cost['fit_seconds']:.1f} s" if cost.get("fit_seconds") else "")
        for name in recommended
        if (cost := costs.get(name))
    ]
    claim_lines = [
        f"**{claims[key]['verdict']}**: {claim.statement}: {claim.evidence(claims[key], params)}"
        for key, claim in CLAIMS.items()
        if key in claims
    ]
    counts = {  # independent instances behind each predictor's interval (as the verdicts stage counted them)
        labels[name]: f"{seeds[name]['accuracy']['seeds']}"
        + (f" ensembles of {len(ensemble_groups(spec)[0])}" if spec.kind == "ensemble" else "")
        for name, spec in params.predictors.items()
        if name in seeds and seeds[name]["accuracy"]["seeds"] > 1 and spec.of is None
    }
    single = [
        labels[name]
        for name, spec in params.predictors.items()
        if name in seeds and seeds[name]["accuracy"]["seeds"] == 1 and spec.of is None
    ]
    return render_template(
        "summary.md.j2",
        summary_table=markdown_table(
            ["job", "use", "its value (interval)", "next best", "difference (interval): verdict"], rows
        )
        if rows
        else "",
        confidence=f"{100 * params.verdicts.confidence:g} %",
        trainings=counts,
        single=single,
        cost_lines=cost_lines,
        claim_lines=claim_lines,
    )


def render_contents(markdown_text: str) -> str:
    """The table of contents: a link to every ## and ### heading of the report, in order."""
    lines = []
    for level, title in re.findall(r"^(##|###) (.+)$", markdown_text, flags=re.M):
        indent = "    " if level == "###" else ""
        lines.append(f"{indent}- [{title}](#{slug(title)})")
    return render_template("contents.md.j2", entries="\n".join(lines))


# A collapsible block of the Markdown, written by the templates on lines of their own: GitHub renders
# it as is; render_html lets exactly these two lines through as HTML (and nothing else).
_DETAILS = re.compile(r"^<details( open)?><summary>([^<>&]+)</summary>$|^</details>$", flags=re.M)


def render_html(markdown_text: str, title: str) -> str:
    """One self-contained page (inline style, figures beside it, nothing fetched from the network).

    Raw HTML in the Markdown is not passed through: the report's Markdown has none of its own but
    the collapsible blocks' two lines (_DETAILS), so any "<" or "&" in it comes from a value (a model
    name, a params comment) and is shown as text. Headings get GitHub's anchors (`slug`), so the
    table of contents works in both.
    """
    summaries: list[tuple[str, str]] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(2) is None:
            return "\nDETAILS-CLOSE\n"
        summaries.append((match.group(1) or "", match.group(2)))
        return f"\nDETAILS-OPEN-{len(summaries) - 1}\n"

    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "toc"],
        extension_configs={"toc": {"slugify": lambda s, _: slug(s)}},
    )
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    html = converter.convert(_DETAILS.sub(placeholder, markdown_text))  # escaped by the converter, see above
    html = html.replace("<p>DETAILS-CLOSE</p>", "</details>")
    for index, (is_open, summary) in enumerate(summaries):
        html = html.replace(
            f"<p>DETAILS-OPEN-{index}</p>", f"<details{is_open}><summary>{escape(summary)}</summary>"
        )
    return render_template("report.html.j2", title=title, body=Markup(html))


# --------------------------------------------------------------------------- verdicts over seeds


def _first_within(
    rows: Sequence[Mapping[str, float]], key: str, target: float, x: str, lower_is_better: bool
) -> str:
    for row in rows:
        if (row[key] <= target) if lower_is_better else (row[key] >= target):
            return f"{int(row[x])}"
    return "none"


def multiplicity_text(found: Mapping[str, Any] | None) -> str:
    """The verdict table read as a whole: decided verdicts expected by chance, and those that survive BH."""
    if not found:
        return ""
    return (
        f"**Read at once.** The table below holds {found['comparisons']} comparisons. If every true difference "
        f"were 0, about {found['expected_by_chance']:.1f} of them would still come out *better* or *worse* at "
        f"{percent(found['alpha'], 0)} each; {found['decided']} did. Controlling the false discovery rate at "
        f"{percent(found['alpha'], 0)} over the whole table (Benjamini-Hochberg on the p-values of the same "
        f"t statistics), {found['decided_after_benjamini_hochberg']} keep their word (✓ in the last column)."
    )


def render_verdicts(
    metrics: Mapping[str, Mapping[str, Any]],
    params: Any,
    costs: Mapping[str, Mapping[str, Any]],
    curves: Mapping[str, list[Mapping[str, float]]],
) -> str:
    """Per-predictor intervals, the verdict table, temperatures, cost beside quality, the article's claims.

    costs: predictor -> {"trainings", "epochs", "train_seconds", "passes_per_image", "test_seconds"}.
    curves: "passes" / "members" -> rows of the curve CSVs.
    """
    seeds, verdicts = metrics.get("seeds"), metrics.get("verdicts")
    temperature, claims, per_seed = metrics.get("temperature"), metrics.get("claims"), metrics.get("per_seed")
    if not (seeds and verdicts and temperature and claims and per_seed):
        return ""
    specs = {name: spec for name, spec in params.predictors.items() if name in seeds}
    confidence = f"{100 * params.verdicts.confidence:g} %"
    models = params.train.models
    repeated = [  # a sweep may give two trainings of one predictor the same recipe and seed
        spec.label
        for spec in specs.values()
        if spec.models
        and len({(models[m].dropout_rate, models[m].seed) for m in spec.models}) < len(spec.models)
    ]
    mixed = [  # a sweep may change only one dropout CNN's rate
        (spec.label, sorted({models[m].dropout_rate for m in spec.models}))
        for spec in specs.values()
        if spec.kind != "ensemble" and spec.models and len({models[m].dropout_rate for m in spec.models}) > 1
    ]

    seed_rows = [
        [
            spec.label,
            str(seeds[name]["accuracy"]["seeds"]),
            *(with_spread(s) if (s := lookup(seeds[name], path)) else "–" for path in SEED_COLUMNS),
        ]
        for name, spec in specs.items()
    ]

    verdict_rows = []
    for a, b in params.verdicts.comparisons:
        scaled_only = params.predictors[a].of == b  # the same top class by construction
        for path in registry.verdict_paths(OOD_SETS):
            result = lookup(verdicts.get(a, {}).get(b, {}), path)
            if result is None or (path == ("accuracy",) and scaled_only) or "same_as" in result:
                continue  # a repeat of an earlier row (the same numbers on both sides) is shown once
            verdict_rows.append(
                [
                    f"{params.predictors[a].label} − {params.predictors[b].label}",
                    registry.label(path),
                    f"{result['difference']:+.4f}",
                    interval(result),
                    f"**{result['verdict']}**",
                    f"{result['p_adjusted']:.3g}" + (" ✓" if result["survives"] else ""),
                ]
            )

    temperature_rows = [
        [params.predictors[name].label, model, f"{t['fitted_on_half_a']:.3f}", f"{t['fitted_on_half_b']:.3f}"]
        for name, fitted in temperature.items()
        for model, t in fitted.items()
    ]

    cost_rows = [
        [
            specs[name].label,
            f"{cost['trainings']} × {cost['epochs']}",
            f"{cost['train_seconds']:.0f} s",
            f"{cost['fit_seconds']:.1f} s" if cost["fit_seconds"] else "–",
            str(cost["passes_per_image"]),
            f"{cost['test_seconds']:.1f} s",
            fixed(seeds[name]["nll"]["mean"]),
            fixed(lookup(seeds[name], OWN_FIRST_OOD)["mean"], 3),
        ]
        for name, cost in costs.items()
        if name in specs
    ]
    by_passes, by_members = curves.get("passes", []), curves.get("members", [])
    cost_curves = None
    if by_passes and by_members:
        mc_dropout_nll = by_passes[-1]["nll"]
        cost_curves = {
            "passes": int(by_passes[-1]["passes"]),
            "mc_dropout_nll": mc_dropout_nll,
            "passes_within_one_percent": _first_within(
                by_passes, "nll", mc_dropout_nll * 1.01, "passes", True
            ),
            "members_to_match": _first_within(by_members, "nll", mc_dropout_nll, "members", True),
            "members": int(by_members[-1]["members"]),
            "ensemble_nll": by_members[-1]["nll"],
        }

    misclassification_rows = [
        [spec.label, score_label(score), with_spread(found, 3)]
        for name, spec in specs.items()
        for score in KINDS[spec.kind].scores
        if (found := lookup(seeds[name], ("misclassification_auroc", score)))
    ]

    per_seed_rows = [
        [
            specs[name].label,
            model,
            *(fixed(lookup(values, path), registry.metric_of(path).digits) for path in PER_SEED_COLUMNS),
        ]
        for name, fitted in per_seed.items()
        if name in specs and specs[name].of is None  # the temperature-scaled ones have the same models
        for model, values in fitted.items()
    ]
    claim_rows = [
        [claim.statement, claim.evidence(claims[key], params), f"**{claims[key]['verdict']}**"]
        for key, claim in CLAIMS.items()
        if key in claims
    ]

    return render_template(
        "verdicts.md.j2",
        ensembles={
            spec.label: len(ensemble_groups(spec)) for spec in specs.values() if spec.kind == "ensemble"
        },
        descriptions=describe_predictors(params),
        specs=specs,
        confidence=confidence,
        bootstrap_rounds=params.verdicts.bootstrap,
        repeated=repeated,
        mixed=mixed,
        seeds_table=markdown_table(
            ["predictor", "seeds", *(registry.label(path) for path in SEED_COLUMNS)], seed_rows
        ),
        verdict_table=markdown_table(
            [
                "comparison (A − B)",
                "metric",
                "difference",
                f"{confidence} interval",
                "verdict",
                "p, Benjamini-Hochberg (✓ kept)",
            ],
            verdict_rows,
        ),
        multiplicity_text=multiplicity_text(metrics.get("summary", {}).get("multiplicity")),
        temperature_table=markdown_table(
            ["predictor", "model", "T fitted on half a", "T fitted on half b"], temperature_rows
        ),
        cost_table=markdown_table(
            [
                "predictor",
                "trainings × epochs",
                "training seconds",
                "post-hoc fit seconds",
                "passes per image",
                "test-set seconds",
                "NLL",
                registry.label(OWN_FIRST_OOD),
            ],
            cost_rows,
        ),
        cost_curves=cost_curves,
        misclassification_table=markdown_table(["predictor", "score", "AUROC"], misclassification_rows),
        claims_table=markdown_table(["claim", "numbers", "verdict"], claim_rows),
        per_seed_table=markdown_table(
            ["predictor", "model", *(registry.label(path) for path in PER_SEED_COLUMNS)], per_seed_rows
        ),
    )


# --------------------------------------------------------------------------- post-hoc methods

_OOD = INPUT_SETS[FIRST_OOD].words  # the data's first OOD set, in words
# The questions the field asks of the post-hoc methods, each answered by one verdict (A − B, metric);
# a question whose predictors are not in the registry or its comparisons is left out.
POSTHOC_QUESTIONS: tuple[tuple[str, str, MetricPath, str], ...] = (
    ("feature_density", "ensemble", OWN_FIRST_OOD, f"Does feature density detect {_OOD} better than the deep ensemble?"),
    ("feature_density", "plain_ts", OWN_FIRST_OOD, "Does it beat the softmax entropy of the same CNNs?"),
    ("feature_density", "mc_dropout", OWN_FIRST_OOD, "And MC dropout?"),
    ("laplace", "plain_ts", ("nll",), "Does last-layer Laplace beat temperature scaling on NLL?"),
    ("laplace", "plain_ts", ("ece",), "On ECE?"),
    ("laplace", "plain_ts", OWN_FIRST_OOD, f"At detecting {_OOD}?"),
    ("laplace", "plain", ("max_prob", FIRST_OOD), f"Does Laplace lower the plain CNN's confidence on {_OOD}?"),
    ("laplace", "plain", OWN_FIRST_OOD, f"And its {set_label(FIRST_OOD)} AUROC?"),
    ("laplace", "ensemble", ("nll",), "Does Laplace reach the deep ensemble's NLL from one training?"),
    ("plain_energy", "plain_ts", OWN_FIRST_OOD, f"Does the energy score detect {_OOD} better than the softmax entropy?"),
    ("plain_max_logit", "plain_ts", OWN_FIRST_OOD, "Does the max logit?"),
    ("plain_energy", "ensemble", OWN_FIRST_OOD, "Does the energy score of one CNN beat the deep ensemble?"),
)  # fmt: skip


def fitted_text(record: Mapping[str, Any]) -> str:
    """What a post-hoc fit chose, in words: the prior precision (Laplace) or the jitter (feature density)."""
    if "prior_precision" in record:
        return f"prior precision {record['prior_precision']:.4g} (log evidence {record['log_evidence']:.1f})"
    if "jitter" in record:
        return f"jitter {record['jitter']:g}"
    return "–"


def render_posthoc(
    metrics: Mapping[str, Mapping[str, Any]], params: Any, seconds: Mapping[str, Mapping[str, Any]]
) -> str:
    """The post-hoc methods: the questions answered by verdicts, what was fitted, Laplace's prior precision.

    seconds: predictor -> model -> fit and test-set seconds (the posthoc stage's machine record)."""
    posthoc, verdicts = metrics.get("posthoc"), metrics.get("verdicts", {})
    specs = params.predictors
    new = [name for name, spec in specs.items() if KINDS[spec.kind].posthoc or spec.options.get("ood_score")]
    if not posthoc or not new:
        return ""
    answers = []
    for a, b, path, question in POSTHOC_QUESTIONS:
        found = lookup(verdicts.get(a, {}).get(b, {}), path)
        if found is None:
            continue
        answers.append(
            f"{question} {specs[a].label} − {specs[b].label}, {registry.label(path)}: "
            f"{found['difference']:+.4f} {interval(found)}, **{found['verdict']}**"
            + (" (kept after Benjamini-Hochberg)" if found.get("survives") else "")
        )
    fit_rows = [
        [
            specs[name].label,
            model,
            fitted_text(record),
            f"{timing['fit_seconds']:.1f} s" if (timing := seconds.get(name, {}).get(model)) else "–",
            f"{timing['test_set_seconds']:.2f} s" if timing else "–",
        ]
        for name, models in posthoc.items()
        if name in specs
        for model in specs[name].models
        if (record := models.get(model))
    ]
    grids = []
    for name, models in posthoc.items():
        first_model = specs[name].models[0] if name in specs else None
        record = models.get(first_model, {})
        if "grid" not in record:
            continue
        grid = record["grid"]
        rows = [
            [f"{lam:g}", f"{evidence:.1f}", fixed(nll)]
            for lam, evidence, nll in zip(
                grid["prior_precision"], grid["log_evidence"], record["grid_test_nll"], strict=True
            )
        ]
        rows.append(
            [f"**{record['prior_precision']:.4g}** (fitted)", f"**{record['log_evidence']:.1f}**", "–"]
        )
        grids.append(
            (
                f"{specs[name].label}, {first_model}",
                markdown_table(["prior precision", "log evidence", "test NLL (shown, not used)"], rows),
            )
        )
    return render_template(
        "posthoc.md.j2",
        methods={name: specs[name].label for name in new},
        descriptions=describe_predictors(params),
        answers=answers,
        confidence=f"{100 * params.verdicts.confidence:g} %",
        fit_table=markdown_table(
            ["predictor", "model", "fitted", "fit seconds", "test-set seconds"], fit_rows
        ),
        grids=grids,
    )


# --------------------------------------------------------------------------- conformal prediction sets

CONFORMAL_ALPHAS = (0.05, 0.01)  # the levels of the report's tables (where conformal.alphas has them)
STUTZ_2022 = {"thr": 2.05, "aps": 2.36}  # Stutz et al. 2022, Table 1: Fashion-MNIST, 2-layer MLP, alpha 0.01
ROTATION_ANGLES = (0, 30, 90)  # the columns of the rotation table (where shift.angles has them)


def render_conformal(
    metrics: Mapping[str, Mapping[str, Any]], params: Any, class_names: Sequence[str]
) -> str:
    """Split conformal prediction sets: coverage and size with intervals, per class, under rotation, on OOD sets."""
    found = metrics.get("conformal")
    if not found:
        return ""
    specs, c = params.predictors, params.conformal
    shown = [name for name in specs if name in found]
    names = [name for name, _, _ in variants(c.scores, c.mondrian_score)]
    alphas = [a for a in CONFORMAL_ALPHAS if a in c.alphas] or [c.alphas[0]]
    head, key = alphas[0], format_number(alphas[0])
    first = names[0]
    mondrian = f"{c.mondrian_score}_mondrian"

    main_rows = [
        [
            specs[name].label,
            variant,
            general(alpha),
            f"{entry['coverage']['mean']:.4f} {interval(entry['coverage'])}",
            f"{entry['mean_size']['mean']:.3f} {interval(entry['mean_size'], 3)}",
            f"{entry['worst_class_coverage']['mean']:.3f} {interval(entry['worst_class_coverage'], 3)}",
            percent(entry["empty"]["mean"], 2),
        ]
        for alpha in alphas
        for variant in names
        for name in shown
        if (entry := found[name][variant][format_number(alpha)])
    ]
    smallest = []
    for variant in names:
        for alpha in alphas:
            s = found["smallest_sets"][variant][format_number(alpha)]
            worst = s["worst_class_coverage"]
            text = (
                f"**{variant}, alpha {general(alpha)}**: the smallest sets are the {specs[s['best']].label}'s "
                f"(mean size {s['mean_size']:.3f}"
            )
            if "runner_up" in s:
                text += (
                    f"; next, {specs[s['runner_up']].label}, {s['runner_up_mean_size']:.3f}: difference "
                    f"{s['difference']:+.3f} {interval(s, 3)}, **{s['verdict']}**"
                )
            text += (
                f"). Its worst class is covered {worst['mean']:.3f} {interval(worst, 3)} of the promised "
                f"{general(1 - alpha)}: per-class coverage: **{s['worst_class_keeps_coverage']}**."
            )
            smallest.append(text)
    class_rows = [
        [
            f"{specs[name].label}, {variant}",
            *(f"{x:.3f}" for x in found[name][variant][key]["per_class_coverage"]),
        ]
        for variant in (first, mondrian)
        if variant in names
        for name in shown
    ]
    by_size = {name: found[name][first][key]["coverage_by_size"] for name in shown}
    present = sorted({int(size) for table in by_size.values() for size in table})
    size_rows = [
        [
            specs[name].label,
            *(
                f"{table[str(size)]['coverage']:.3f} ({table[str(size)]['images']:,})"
                if str(size) in table
                else "–"
                for size in present
            ),
        ]
        for name, table in by_size.items()
    ]
    angles = [a for a in ROTATION_ANGLES if a in params.shift.angles]
    rotation_rows = [
        [
            specs[name].label,
            *(f"{rotated[str(a)]['coverage']:.3f}" for a in angles),
            *(f"{rotated[str(a)]['mean_size']:.2f}" for a in angles),
        ]
        for name in shown
        if (rotated := found[name][first][key]["rotated"])
    ]
    ood_rows = [
        [
            specs[name].label,
            set_label(set_name),
            f"{entry['ood'][set_name]['mean_size']:.2f}",
            percent(entry["ood"][set_name]["empty"], 1),
            percent(entry["ood"][set_name]["full"], 1),
            percent(entry["size_histogram"][set_name][1] if len(entry["size_histogram"][set_name]) > 1 else 0, 1),
            fixed(entry["size_auroc"][set_name]["mean"], 3)
            + (f" [{entry['size_auroc'][set_name]['t_low']:.3f}, {entry['size_auroc'][set_name]['t_high']:.3f}]"
               if "t_low" in entry["size_auroc"][set_name] else ""),
        ]
        for name in shown
        if (entry := found[name][first][key])
        for set_name in OOD_SETS
    ]  # fmt: skip
    literature = None
    if 0.01 in c.alphas and "plain" in found:
        ours = {s: found["plain"][s]["0.01"]["mean_size"] for s in STUTZ_2022 if s in found["plain"]}
        literature = [(s.upper(), STUTZ_2022[s], ours[s]) for s in ours]
    return render_template(
        "conformal.md.j2",
        alphas=[general(a) for a in c.alphas],
        scores=names,
        mondrian=mondrian,
        confidence=f"{100 * params.verdicts.confidence:g} %",
        head=general(head),
        head_coverage=general(1 - head),
        same_as={specs[a].label: specs[b].label for a, b in found.get("same_as", {}).items()},
        main_table=markdown_table(
            [
                "predictor",
                "score",
                "alpha",
                "coverage (interval)",
                "mean set size (interval)",
                "worst class's coverage (interval)",
                "empty sets",
            ],
            main_rows,
        ),
        smallest=smallest,
        class_table=markdown_table(["predictor, score", *class_names], class_rows),
        size_table=markdown_table(["predictor", *(f"size {size}" for size in present)], size_rows),
        rotation_table=markdown_table(
            ["predictor", *(f"coverage at {a}°" for a in angles), *(f"mean size at {a}°" for a in angles)],
            rotation_rows,
        ),
        first=first,
        ood_table=markdown_table(
            [
                "predictor",
                "set",
                "mean size",
                "empty",
                "all 10 classes",
                "one class",
                "AUROC of the size (t-interval)",
            ],
            ood_rows,
        ),
        literature=literature,
    )
