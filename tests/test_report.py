"""The report: templates render every section from the committed metrics, tables are real Markdown
tables, values are escaped in the HTML page, and (e2e) references resolve, numbers equal the metrics
and a real browser renders it."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import markdown
import pytest

from uncertainty.core.params import read_params
from uncertainty.core.schema.params import SECTIONS
from uncertainty.data.fashion_mnist import CLASS_NAMES
from uncertainty.evaluation.metric_registry import METRICS
from uncertainty.report import formats, summary
from uncertainty.report import page as pages
from uncertainty.report import sections as builders

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[1]
SEPARATOR = re.compile(r"^\|(?:-+\|)+$")  # a pipe table's header separator, no alignment colons
TABLES_PER_SECTION = {"article": 4, "beyond": 5, "verdicts": 9, "posthoc": 4, "conformal": 5, "provenance": 1}

DATA = pages.data_record(  # the default data and models: the article's run
    "Fashion-MNIST",
    "fashion_mnist",
    CLASS_NAMES,
    ["MNIST digits"],
    read_params(SECTIONS, ROOT / "params.yaml").train,
)


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    """The committed metrics, machine records and params: the report renders without a pipeline run."""
    from stages import report as stage

    params = read_params(SECTIONS, ROOT / "params.yaml")
    found = {  # as the report stage reads them: the metrics files, then the full tables
        path.stem: json.loads(path.read_text())
        for directory in ("metrics", "tables")
        for path in sorted((ROOT / "reports" / directory).glob("*.json"))
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # the stage reads reports/machine and reports/plots relative to the project root
        fit_seconds = json.loads((ROOT / "reports/machine/posthoc.json").read_text())["seconds"]
        costs = stage.costs(params, ROOT / "reports/machine", fit_seconds)
        curves = stage.curves(
            ROOT / "reports/plots/curve_passes.csv", ROOT / "reports/plots/curve_members.csv"
        )
    return {"metrics": found, "params": params, "costs": costs, "curves": curves, "fit_seconds": fit_seconds}


@pytest.fixture(scope="module")
def sections(committed: dict[str, Any]) -> dict[str, str]:
    """Each section's template rendered for Markdown from its records, as pages.render does."""
    found, params = committed["metrics"], committed["params"]
    records = {
        "article": builders.article(found, params, CLASS_NAMES),
        "beyond": builders.beyond(found, params),
        "verdicts": builders.verdicts(found, params, committed["costs"], committed["curves"]),
        "posthoc": builders.posthoc(found, params, committed["fit_seconds"]),
        "conformal": builders.conformal(found, params, CLASS_NAMES),
        "provenance": summary.provenance("seed: 84\n", {"python": "3.11.7"}, {"rendered on": "a CPU"}),
    }
    page = pages.Page(for_html=False)
    return {name: page.render(f"{name}.md.j2", data=DATA, **context) for name, context in records.items()}


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every block of consecutive "|" lines outside code fences, as rows of cells ("\\|" stays in a cell)."""
    tables: list[list[list[str]]] = []
    fenced, previous = False, ""
    for line in text.splitlines():
        fenced ^= line.startswith("```")
        if line.startswith("|") and not fenced:
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
        previous = line if not fenced else ""
    return tables


def test_every_table_is_a_markdown_table(sections: dict[str, str]) -> None:
    for name, text in sections.items():
        tables = markdown_tables(text)
        assert len(tables) == TABLES_PER_SECTION[name], (name, len(tables))
        for header, separator, *rows in tables:
            assert SEPARATOR.match("|" + "|".join(separator) + "|"), (name, header, separator)
            assert len(separator) == len(header) and rows, (name, header)
            assert all(len(row) == len(header) for row in rows), (name, header)
    page = pages.html("\n".join(sections.values()), [], "report")
    assert page.count("<table>") == sum(TABLES_PER_SECTION.values())  # the converter read every one


def test_tables_hold_the_metrics(sections: dict[str, str], committed: dict[str, Any]) -> None:
    rows = [row for table in markdown_tables(sections["beyond"]) for row in table]
    labels = {name: spec.label for name, spec in committed["params"].predictors.items()}
    metrics = committed["metrics"]
    twins = builders.same_probabilities(labels, metrics["eval"], metrics["shift"])
    assert twins == {  # the score-only predictors: the plain CNN's probabilities
        name: "plain" for name in ("plain_energy", "plain_max_logit", "feature_density", "knn", "vim", "rmds")
    }
    for predictor, values in metrics["eval"].items():
        columns = [m for m in METRICS if m.file == "eval"]
        expected = [
            labels[predictor],
            *(formats.cell(values.get(m.file_key), f"fixed{m.digits}") for m in columns),
        ]
        assert (expected in rows) == (predictor not in twins), predictor  # a twin's rows are its twin's
    density = metrics["ood"]["mnist"]["feature_density"]["feature_density"]["auroc"]
    assert ["feature density", "feature density", f"{density:.3f}"] in [row[:3] for row in rows]
    trained = committed["metrics"]["train_plain"]
    plain_cnn = next(row for row in markdown_tables(sections["article"])[1] if row[0] == "plain")
    assert plain_cnn[5] == f"{trained['test_accuracy']:.4f}"
    per_seed = markdown_tables(sections["verdicts"])[-1]
    plain = committed["metrics"]["per_seed"]["plain"]["plain"]
    assert ["plain CNN", "plain", f"{plain['accuracy']:.4f}", f"{plain['nll']:.4f}"] in [
        row[:4] for row in per_seed
    ]
    # the calibrators beside temperature: each comparison's ECE, NLL and Brier as the verdicts stage wrote them
    calibrators = next(
        t for t in markdown_tables(sections["verdicts"]) if t[0][:3] == ["A", "B", "ECE A − B"]
    )
    found = committed["metrics"]["verdicts"]["plain_histogram"]["plain"]
    row = next(r for r in calibrators if r[:2] == ["plain CNN + histogram binning", "plain CNN"])
    assert row[2] == f"{found['ece']['difference']:+.4f}" and row[4] == f"**{found['ece']['verdict']}**"
    assert row[5] == f"{found['nll']['difference']:+.4f}" and row[7] == f"**{found['nll']['verdict']}**"
    lowered = found["ece"]["verdict"] == "better" and "worse" in (
        found["nll"]["verdict"],
        found["brier"]["verdict"],
    )
    assert (
        "plain CNN + histogram binning against plain CNN lowers the ECE" in sections["verdicts"]
    ) == lowered


def test_a_missing_template_variable_raises_instead_of_rendering_empty(committed: dict[str, Any]) -> None:
    context = summary.provenance("seed: 84", {"python": "3.11.7"}, {})
    del context["components"]
    with pytest.raises(jinja2.UndefinedError, match="components"):
        pages.Page(for_html=False).render("provenance.md.j2", data=DATA, **context)
    records = builders.article(committed["metrics"], committed["params"], CLASS_NAMES)
    records["batch"] = {key: value for key, value in records["batch"].items() if key != "passes"}
    with pytest.raises(jinja2.UndefinedError, match="passes"):  # read only by the template
        pages.Page(for_html=False).render("article.md.j2", data=DATA, **records)


def _page(context: dict[str, Any], first: dict[str, Any] | None = None) -> tuple[str, str]:
    """The report of the provenance section alone (and an empty summary): Markdown and HTML."""
    empty = {"jobs": [], "confidence": 0.95, "claims": [], "trainings": {}, "single": [], "costs": []}
    return pages.render([("provenance.md.j2", context)], first or empty, DATA)


def test_html_special_characters_in_values_are_escaped() -> None:
    _, page = _page(
        summary.provenance(
            "note: a <b> & c\n", {"python": "3.11.7"}, {"trained <script>alert(1)</script> on": "x86 & arm"}
        )
    )
    for raw in ("<script>", "<b>"):
        assert raw not in page
    assert "<td>trained &lt;script&gt;alert(1)&lt;/script&gt; on</td>" in page
    assert "<td>x86 &amp; arm</td>" in page
    assert "note: a &lt;b&gt; &amp; c" in page  # inside the params code block
    title = pages.html("# t\n", [], 'Report <i>"1 & 2"</i>')
    assert "<title>Report &lt;i&gt;&#34;1 &amp; 2&#34;&lt;/i&gt;</title>" in title and "<i>" not in title


def test_only_the_templates_collapsible_parts_become_html() -> None:
    """A collapsible part is the template's `details`; a "<details>" in a value stays text."""
    markdown_text, page = _page(
        summary.provenance("<details><summary>x</summary>\n", {"python": "<details>"}, {})
    )
    assert "<details><summary>params.yaml, as it was for this report</summary>" in markdown_text
    assert page.count("<details><summary>") == 1 and page.count("</details>") == 1
    assert "<td>&lt;details&gt;</td>" in page  # a value in a cell stays text
    assert "&lt;details&gt;&lt;summary&gt;x" in page  # and in the params code block


def test_the_contents_link_every_heading_the_templates_declare() -> None:
    markdown_text, page = _page(summary.provenance("seed: 84\n", {"python": "3.11.7"}, {}))
    assert "- [What produced this report](#what-produced-this-report)" in markdown_text
    assert 'id="what-produced-this-report"' in page and 'href="#what-produced-this-report"' in page
    assert pages.slug("1. Three regressors: the weights") == "1-three-regressors-the-weights"
    assert pages.slug("The article's claims") == "the-articles-claims"


def test_a_table_declares_its_columns_and_formats_none_by_hand() -> None:
    records = [
        {"name": "a | b", "value": 0.0, "summary": {"mean": 0.5, "low": 0.25, "high": 0.75}},
        {"name": "c"},
    ]
    text = formats.table(
        records, [["what", "name"], ["value", "value", "fixed6"], ["interval", "summary", "mean_interval3"]]
    )
    body = markdown.markdown(text, extensions=["tables"])
    assert "<td>a | b</td>" in body and "<td>0.000000</td>" in body  # a pipe stays in its cell, no re-parsing
    assert "<td>0.500 [0.250, 0.750]</td>" in body and body.count("<td>–</td>") == 2  # missing: a dash


def test_the_page_inlines_the_stylesheet_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pages.environment.cache_clear()
    page = pages.html("# title\n", [], "title")
    stylesheet = (ROOT / "uncertainty" / "report" / "templates" / "report.css").read_text()
    assert f"<style>\n{stylesheet}</style>" in page
    assert '<h1 id="title">title</h1>' in page and "<link" not in page  # headings carry their anchors


@pytest.fixture
def reports(tiny_repo: Path) -> Path:
    return tiny_repo / "reports"


def metrics(reports: Path, name: str) -> dict:
    """A section's numbers as the report reads them: the full table where there is one."""
    table = reports / "tables" / f"{name}.json"
    return json.loads((table if table.is_file() else reports / "metrics" / f"{name}.json").read_text())


@pytest.mark.e2e
def test_every_reference_exists(reports: Path) -> None:
    page = (reports / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(references) >= 20
    anchors = set(re.findall(r' id="([^"]+)"', page))
    for reference in references:
        assert not reference.startswith(("http:", "https:", "//")), reference  # nothing from the network
        if reference.startswith("#"):  # the table of contents: a heading of this page
            assert reference[1:] in anchors, reference
        else:
            assert (reports / reference).is_file(), reference


@pytest.mark.e2e
def test_table_numbers_equal_the_metrics(reports: Path) -> None:
    page = (reports / "index.html").read_text()
    rows = [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, flags=re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    ]
    labels = {
        name: spec.label
        for name, spec in read_params(SECTIONS, reports.parent / "params.yaml").predictors.items()
    }
    evaluation = metrics(reports, "eval")
    twins = builders.same_probabilities(labels, evaluation, metrics(reports, "shift"))  # shown as their twin
    for predictor, values in evaluation.items():
        columns = [m for m in METRICS if m.file == "eval"]
        expected = [
            labels[predictor],
            *(formats.cell(values.get(m.file_key), f"fixed{m.digits}") for m in columns),
        ]
        if predictor not in twins:  # the tiny repo's registry may add columns after these
            assert any(row[: len(expected)] == expected for row in rows), (expected, predictor)
    trained = metrics(reports, "train_plain")
    assert f"{trained['test_accuracy']:.4f}" in page
    batch = metrics(reports, "mc_batch")
    assert f"{batch['accuracy_mc_median']:.3f}" in page
    ood = metrics(reports, "ood")
    assert f"{ood['mnist']['mc_dropout']['mutual_information']['auroc']:.3f}" in page


class _Logged(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, int]]] = []

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requests.append((self.path, int(code)))

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.e2e
@pytest.mark.skipif(
    CHROMIUM is None and shutil.which("apt-get") is None,
    reason="no Chromium and no apt-get to install it: install a Chromium by hand to run this test",
)
def test_renders_in_headless_chromium_without_failed_loads(reports: Path, tmp_path: Path) -> None:
    # Where apt exists, `make setup` installs Debian's chromium, so its absence is a failure, not a skip.
    assert CHROMIUM is not None, "chromium not found: run `make setup` (it installs Debian's chromium)"
    handler = functools.partial(_Logged, directory=str(reports))
    _Logged.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    screenshot = tmp_path / "page.png"
    try:
        result = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1200,2400",
                "--virtual-time-budget=5000",
                f"--screenshot={screenshot}",
                f"http://127.0.0.1:{server.server_address[1]}/index.html",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert screenshot.is_file(), result.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(screenshot)
    assert pixels.std() > 0.05  # not a blank page
    images = set(re.findall(r'src="([^"]+)"', (reports / "index.html").read_text()))
    requested = {path.lstrip("/"): code for path, code in _Logged.requests}
    failed = {path: code for path, code in requested.items() if code >= 400 and path != "favicon.ico"}
    assert not failed, failed
    missing = images - set(requested)
    assert not missing, f"never loaded: {sorted(missing)[:5]}"


# Loads the report in a 1,300 px wide frame (a reader's window) and measures what a reader meets.
READER_CHECK = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="index.html" style="width:1300px;height:1000px;border:0"></iframe>
<pre id="result">pending</pre>
<script>
document.getElementById("page").addEventListener("load", () => {
  const frame = document.getElementById("page"), doc = frame.contentDocument, win = frame.contentWindow;
  const links = [...doc.querySelectorAll('a[href^="#"]')].map((link) => {
    const target = doc.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) return {href: link.getAttribute("href"), found: false};
    target.scrollIntoView();
    const atBottom = win.scrollY + win.innerHeight >= doc.documentElement.scrollHeight - 2;
    return {href: link.getAttribute("href"), found: true,
            lands: Math.abs(target.getBoundingClientRect().top) < 2 || atBottom};
  });
  win.scrollTo(0, 0);
  const summary = doc.getElementById("summary");
  document.getElementById("result").textContent = JSON.stringify({
    links,
    images: [...doc.images].map((image) => ({src: image.getAttribute("src"), width: image.naturalWidth})),
    summary_top: summary ? summary.getBoundingClientRect().top : null,
    height: doc.documentElement.scrollHeight,
  });
});
</script></body></html>
"""


def read_as_a_reader(reports: Path, directory: Path) -> dict[str, Any]:
    """Headless Chromium on the report (served over HTTP on 127.0.0.1) -> what READER_CHECK measured."""
    site = directory / "site"
    shutil.copytree(reports, site)
    (site / "reader_check.html").write_text(READER_CHECK)
    handler = functools.partial(_Logged, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={directory / 'profile'}", "--window-size=1400,1100",
                "--virtual-time-budget=15000", "--dump-dom",
                f"http://127.0.0.1:{server.server_address[1]}/reader_check.html",
            ],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        server.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, flags=re.S)
    assert found and found.group(1) != "pending", result.stderr[-2000:]
    import html

    return json.loads(html.unescape(found.group(1)))


@pytest.mark.e2e
@pytest.mark.skipif(
    CHROMIUM is None and shutil.which("apt-get") is None,
    reason="no Chromium and no apt-get to install it: install a Chromium by hand to run this test",
)
def test_a_reader_meets_the_summary_first_and_every_link_and_image_works(
    reports: Path, tmp_path: Path
) -> None:
    assert CHROMIUM is not None, "chromium not found: run `make setup` (it installs Debian's chromium)"
    seen = read_as_a_reader(reports, tmp_path)
    assert seen["summary_top"] is not None and 0 <= seen["summary_top"] < 1000, seen["summary_top"]
    assert len(seen["links"]) >= 10  # the table of contents
    broken = [link for link in seen["links"] if not (link["found"] and link["lands"])]
    assert not broken, broken
    assert seen["images"] and all(image["width"] > 0 for image in seen["images"]), [
        image["src"] for image in seen["images"] if image["width"] == 0
    ]
    print(f"report page height at 1,300 px: {seen['height']} px")  # pytest -s shows it
    # A page a reader can scroll: the summary and each section's main table open, the full tables and
    # most figures collapsed (the default run's page: 28,596 px before, 13,900 px after; this tiny run's 29,204 and 14,523).
    assert seen["height"] <= 15_000, seen["height"]
