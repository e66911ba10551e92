"""The library's layers hold: import-linter (the contracts in pyproject.toml) on the real tree, and on a
copy where one core module imports the report, to see a broken contract named."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = ("core", "data", "models", "methods", "evaluation", "report")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_core_module_importing_the_report_breaks_the_layers(tmp_path: Path) -> None:
    for folder in ("uncertainty", "stages"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    names = tmp_path / "uncertainty" / "core" / "names.py"
    names.write_text(names.read_text() + "\nfrom uncertainty.report import page  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "Each layer of uncertainty/ imports only the layers below it BROKEN" in " ".join(
        result.stdout.split()
    )
    assert "uncertainty.core.names -> uncertainty.report.page" in result.stdout


def test_each_layer_says_what_it_holds_and_what_it_may_import() -> None:
    found = sorted(
        p.parent.name for p in (ROOT / "uncertainty").glob("*/__init__.py") if p.parent.name in LAYERS
    )
    assert found == sorted(LAYERS)
    for layer in LAYERS:
        docstring = ast.get_docstring(ast.parse((ROOT / "uncertainty" / layer / "__init__.py").read_text()))
        assert docstring and "import" in docstring.split("\n\n")[-1].lower(), layer
