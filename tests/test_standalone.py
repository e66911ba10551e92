"""The repository stands alone: a user's clone has no ../shared, so nothing tracked may point there."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = "../" + "shared"  # spelled in two parts so that this file does not match itself


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / name for name in listed.split("\0") if name]


def test_no_tracked_file_outside_tests_points_outside_the_repository() -> None:
    files = [path for path in tracked_files() if path.relative_to(ROOT).parts[0] != "tests"]
    assert len(files) > 20  # the listing really found the project
    offending = [
        str(path.relative_to(ROOT))
        for path in files
        if path.is_file() and OUTSIDE.encode() in path.read_bytes()
    ]
    assert not offending, offending


def test_the_article_is_described_in_the_repository() -> None:
    article = (ROOT / "docs" / "article.md").read_text()
    for number in ("31.22", "0.875", "0.867"):  # numbers the article reports, quoted by the report
        assert number in article, number
