"""The report's page: every section a Jinja2 template (uncertainty/report/templates/) fed records.

A section's builder (uncertainty.report.sections, .summary) reads the metrics files and tables and
returns its records: names and numbers as the files hold them, nothing formatted. Its template holds
the prose and declares each table's columns as [header, key, format] (`table`: the key a dotted path,
or a list of parts, into a record; the format one of uncertainty.report.formats.FORMATS), its headings
(`heading`: they make the table of contents) and its collapsible parts (`details`). This module renders
them into report.md and one self-contained HTML page. Nothing is typed by hand but the numbers the
article and the literature published (templates/published.yaml).
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
import yaml
from markupsafe import Markup

from uncertainty.core.article import not_the_article
from uncertainty.core.io import read_json
from uncertainty.core.names import format_number
from uncertainty.core.vocabulary import INPUT_SETS
from uncertainty.evaluation import metric_registry as registry
from uncertainty.report.formats import cell, metric_columns, path_columns, table

TEMPLATES = Path(__file__).resolve().parent / "templates"  # found from any working directory
PUBLISHED = yaml.safe_load((TEMPLATES / "published.yaml").read_text())  # what the literature reports
TITLE = "Uncertainty in deep learning: the article, reproduced and measured"


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
            list[str](),
        )

    def heading(self, level: int, title: str) -> str:
        self.headings.append((level, title))
        return f"{'#' * level} {title}"

    def details(self, summary: str, caller: Callable[[], str] | None = None) -> str:
        body = caller().strip("\n") if caller else ""
        if self.for_html:
            self.summaries.append(summary)
            return f"DETAILS-OPEN-{len(self.summaries) - 1}\n\n{body}\n\nDETAILS-CLOSE\n"
        return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>\n"

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
        format_number=format_number, published=PUBLISHED, set_words=lambda name: INPUT_SETS[name].words,
    )  # fmt: skip
    return templates


def results(*directories: Path) -> dict[str, Any]:
    """Each section's numbers by file name: the metrics files, then the full tables where there is one
    (a table of the same name replaces its metrics file)."""
    return {
        path.stem: read_json(path) for directory in directories for path in sorted(directory.glob("*.json"))
    }


def html(markdown_text: str, summaries: Sequence[str], title: str = TITLE) -> str:
    """One self-contained page (inline style, figures beside it, nothing fetched from the network); the
    collapsible parts are Page.details' markers; headings get GitHub's anchors, as the contents link."""
    toc = {"toc": {"slugify": lambda s, _: slug(s)}}
    converter = markdown.Markdown(extensions=["tables", "fenced_code", "toc"], extension_configs=toc)
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    body = converter.convert(markdown_text).replace("<p>DETAILS-CLOSE</p>", "</details>")
    for index, summary in enumerate(summaries):
        body = body.replace(f"<p>DETAILS-OPEN-{index}</p>", f"<details><summary>{escape(summary)}</summary>")
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
    name: str,
    source: str,
    class_names: Sequence[str],
    ood_words: Sequence[str],
    train: Any,
    saved: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What every template knows of the run: the data (data/dataset.json), its models (params.train), and
    `article`: whether this is the article's run (uncertainty.core.article), else `not_article`, why not.
    Saved predictions (`saved`, data/dataset.json's): no noise sets, the shift sets the file holds, and what
    its keys leave out (`not_run`: the methods or sets, and the keys they would need)."""
    reason = not_the_article(source, train)
    imported = [f"{n} ({m.file})" for n, m in train.models.items() if m.file]
    shifts = [s for s in ("rotated", "corrupted") if saved is None or s in saved["sets"]]
    return {
        "noise": saved is None, "shifts": " and ".join(shifts), "saved": saved,
        "saved_file": next((m.saved for m in train.models.values() if m.saved), None),
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
