"""What a cell of the report shows: the formats (FORMATS) a template names for each column, and
`table`, which turns records into a GitHub pipe table with them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from uncertainty.evaluation import metric_registry as registry


def interval(summary: Mapping[str, Any], digits: int = 4) -> str:
    """'[low, high]', with † where an end was clipped to the metric's range (uncertainty.evaluation.statistics.clip)."""
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
