"""The HTML report: references resolve, numbers equal the metrics, and a real browser renders it."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def reports(tiny_repo: Path) -> Path:
    return tiny_repo / "reports"


def metrics(reports: Path, name: str) -> dict:
    return json.loads((reports / "metrics" / f"{name}.json").read_text())


def test_every_reference_exists(reports: Path) -> None:
    page = (reports / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(references) >= 20
    for reference in references:
        assert not reference.startswith(("http:", "https:", "//")), reference  # nothing from the network
        assert (reports / reference).is_file(), reference


def test_table_numbers_equal_the_metrics(reports: Path) -> None:
    page = (reports / "index.html").read_text()
    rows = [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, flags=re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    ]
    for predictor, values in metrics(reports, "eval").items():
        expected = [predictor, *(f"{values[key]:.4f}" for key in ("accuracy", "nll", "brier", "ece"))]
        assert expected in rows, (expected, [row for row in rows if row and row[0] == predictor])
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
