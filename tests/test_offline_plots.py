"""`dvc plots show` / `dvc plots diff` pages render offline: .dvc/config names (plots.html_template) a
committed page template with the vendored Vega, Vega-Lite and Vega-Embed inlined, from the root and from
the run folders, and (e2e) a page written by a plain `dvc plots show` draws its plot in headless Chromium
with every network lookup failing (DVC's default template, which loads the scripts from a CDN, draws nothing)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pipeline import sh

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "vendor" / "vega"
TEMPLATE = VENDOR / "dvc_plots_template.html"
PLOT = "reports/plots/train_plain.csv"  # one small committed plot: the page is quick to write and to draw


def _fetch_module():
    spec = importlib.util.spec_from_file_location("vendor_vega_fetch", VENDOR / "fetch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_is_self_contained_and_generated_from_the_vendored_scripts() -> None:
    page = TEMPLATE.read_text(encoding="utf8")
    assert "{plot_divs}" in page  # dvc_render's placeholder, without which DVC refuses the template
    assert "{scripts}" not in page  # else dvc_render would add its CDN <script src> tags there
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.I), "a script loaded from elsewhere"
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page, flags=re.I)
    assert page.count("<script>") == 3
    fetch = _fetch_module()
    for name, version, _, _ in fetch.PACKAGES:
        assert (VENDOR / f"{name}.LICENSE").is_file()
        assert f"{name} {version}" in page
    assert page == fetch.render_template(VENDOR), "regenerate it: python vendor/vega/fetch.py --template"


@pytest.mark.parametrize("folder", [".", "runs/mnist", "runs/digits_bn"])
def test_dvc_config_names_the_template_from_the_root_and_the_run_folders(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dvc.cli import parse_args

    if not (ROOT / folder / "dvc.yaml").exists():
        pytest.skip(f"no {folder}/dvc.yaml")
    monkeypatch.chdir(ROOT / folder)
    args = parse_args(["plots", "show"])
    command = args.func(args)  # DVC's own command: the path it resolves plots.html_template to
    try:
        assert command.repo.config["plots"].get("html_template") == "../vendor/vega/dvc_plots_template.html"
        assert Path(command._html_template_path()).resolve() == TEMPLATE
    finally:
        command.repo.close()


def _chromium(page: Path, profile: Path, *output: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a file:// page with no network: every host name fails to resolve, no proxy."""
    return subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
            "--window-size=800,600", "--virtual-time-budget=10000", *output, page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.e2e
@pytest.mark.skipif(
    CHROMIUM is None and shutil.which("apt-get") is None,
    reason="no Chromium and no apt-get to install it: install a Chromium by hand to run this test",
)
def test_dvc_plots_show_page_draws_in_headless_chromium_without_network(tmp_path: Path) -> None:
    # Where apt exists, `make setup` installs Debian's chromium, so its absence is a failure, not a skip.
    assert CHROMIUM is not None, "chromium not found: run `make setup` (it installs Debian's chromium)"
    out = tmp_path / "dvc_plots"
    sh(["dvc", "plots", "show", PLOT, "-o", str(out)], ROOT, timeout=300)  # the plain command: no flag
    page = out / "index.html"
    assert "cdn.jsdelivr.net" not in page.read_text(encoding="utf8")

    dom = _chromium(page, tmp_path / "profile-dom", "--dump-dom")
    # Vega-Embed ran (its container and its actions menu) and Vega drew the chart into a canvas.
    body = dom.stdout[dom.stdout.find("<body") :][:600]
    assert 'class="vega-embed' in dom.stdout, f"Vega-Embed never ran (its scripts did not load):\n{body}"
    assert re.search(r'<(canvas|svg)[^>]*class="marks"', dom.stdout), f"no chart drawn:\n{body}"

    screenshot = tmp_path / "page.png"
    shot = _chromium(page, tmp_path / "profile-shot", f"--screenshot={screenshot}")
    assert screenshot.is_file(), shot.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(screenshot)[..., :3]
    assert pixels.std() > 0.02  # not a blank page
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.3).sum()  # the line in DVC's colours
    assert coloured > 200, f"{coloured} coloured pixels: no line drawn"
