"""Shared fixtures. The project root is on sys.path (tests/ is a package under it)."""

import os
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline import make_repo, sh
from uncertainty.core import vocabulary

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# The modules whose tests read the one shared tiny pipeline run (tiny_repo): under pytest-xdist (make test)
# they all go to one worker, in order, so the run is made once; every other test goes to whichever worker
# is free. tests/test_deps.py checks this list against the tests that ask for tiny_repo.
TINY_REPO_MODULES = (
    "tests/test_backends_pipeline.py",
    "tests/test_compare.py",
    "tests/test_pipeline.py",
    "tests/test_reliability.py",
    "tests/test_report.py",
    "tests/test_sweep_machines.py",
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's scope scheduling with one scope for the tiny_repo modules and one per other test
    (its xdist_group marks do not reach the scheduler under pytest 9, which names nodes by `_id`)."""
    from xdist.scheduler import LoadScopeScheduling

    class TinyRepoTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tiny_repo" if nodeid.split("::", 1)[0] in TINY_REPO_MODULES else nodeid

    return TinyRepoTogether(config, log)


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
