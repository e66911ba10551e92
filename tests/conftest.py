"""Shared fixtures. The project root is on sys.path (tests/ is a package under it)."""

import os
from pathlib import Path

import pytest

from tests.pipeline import make_repo, sh
from uncertainty import vocabulary

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (make test), every test of the shared tiny pipeline run goes to one worker, so the
    run is made once (tests that change it put it back, in order); the rest go to whichever worker is free."""
    for item in items:
        if "tiny_repo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_repo"))


@pytest.fixture(autouse=True)
def default_input_sets() -> object:
    """A test that reads another data's description (which sets the vocabulary's OOD sets) leaves the
    default data's behind it."""
    before = dict(vocabulary.INPUT_SETS)
    yield
    vocabulary.INPUT_SETS.clear()
    vocabulary.INPUT_SETS.update(before)


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's pipeline in a temporary git repo, reproduced once on tiny params.

    Tests that change it (bad params, a killed stage) put it back as they found it.
    """
    repo = make_repo(tmp_path_factory.mktemp("tiny") / "repo")
    sh(["dvc", "repro"], repo)
    return repo
