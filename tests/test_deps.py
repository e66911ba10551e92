"""dvc.yaml's code deps cannot drift: each stage lists exactly the project modules its command imports.

The closure starts at the module the stage's `cmd` runs (`python -m stages.<name>`)
and follows every import of a project module (`stages.*`, `uncertainty.*`,
function-level imports included) through the source, with `ast`. A missing
dependency means DVC would not re-run the stage when that code changes; a
superfluous one means it re-runs (say, retrains) for nothing.
"""

from __future__ import annotations

import ast
import itertools
import re
import shlex
from pathlib import Path

import pytest
import yaml

from uncertainty.data.contract import SOURCES
from uncertainty.methods.predictors import KINDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stages", "uncertainty")


def module_path(module: str) -> Path | None:
    path = ROOT / (module.replace(".", "/") + ".py")
    return path if path.is_file() else None


def imported_modules(path: Path) -> set[str]:
    """Project modules imported anywhere in the file (`from uncertainty.core import io` counts as uncertainty.core.io)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES and module_path(m)}


def closure(module: str) -> set[str]:
    """Paths (relative to the project root) of the module and every project module it imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(imported_modules(module_path(current)))  # type: ignore[arg-type]
        if current == "uncertainty.methods.posthoc":  # it loads the method modules the kinds name
            todo.extend(kind.posthoc for kind in KINDS.values() if kind.posthoc)
        if current == "uncertainty.data.contract":  # it loads the source module prepare.source names
            todo.extend(f"uncertainty.data.sources.{name}" for name in SOURCES)
    return {str(module_path(m).relative_to(ROOT)) for m in seen}  # type: ignore[union-attr]


def test_package_files_hold_only_a_docstring() -> None:
    """A package's __init__.py runs on every import from it but is no dependency: it must do nothing."""
    for init in ROOT.glob("*/**/__init__.py"):
        if ".venv" in init.parts:
            continue
        body = ast.parse(init.read_text()).body
        assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), init


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def is_code(dep: object) -> bool:
    """A module (.py) or a layer folder of the library (uncertainty/<layer>)."""
    return isinstance(dep, str) and (dep.endswith(".py") or re.fullmatch(r"uncertainty/\w+", dep) is not None)


def code_deps(stage: dict) -> set[str]:
    return {dep for dep in stage.get("do", stage).get("deps", []) if is_code(dep)}


def code_deps_for(module: str) -> list[str]:
    """What a stage running `module` lists: a stage that runs a network (training, inference, the article's
    MC anecdotes, the health check) lists its import closure file by file, so no edit of a module it does
    not import re-runs it; every other stage is numpy on what those wrote, cheap to re-run, and lists the
    layer folders it imports from (uncertainty/<layer>) beside its own stage modules, read at a glance."""
    files = closure(module)
    if files & TENSORFLOW:
        return sorted(files)
    return sorted({"/".join(path.split("/")[:2]) if path.count("/") >= 2 else path for path in files})


def command_module(stage: dict) -> str:
    words = stage.get("do", stage)["cmd"].split()
    assert words[:2] == ["python", "-m"], words
    return words[2]


@pytest.mark.parametrize("name", sorted(stages()))
def test_code_deps_are_the_import_closure(name: str) -> None:
    stage = stages()[name]
    expected = set(code_deps_for(command_module(stage)))
    listed = code_deps(stage)
    assert listed == expected, {
        "missing": sorted(expected - listed),
        "superfluous": sorted(listed - expected),
    }


def test_closure_follows_function_level_and_package_imports(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text(
        "from uncertainty.core import io\n\ndef f():\n    from uncertainty.models.cnn import load_cnn\n"
    )
    assert imported_modules(source) >= {"uncertainty.core.io", "uncertainty.models.cnn"}


FIGURE_STAGES = {
    "figures",
    "article_figures",
    "training_figures",
    "training_figures_imported",
    "verdict_figures",
    "corruption_figures",
}


def test_compute_stages_import_no_plotting_code() -> None:
    """Figures are drawn by their own stages from what compute stages wrote: a plot edit never recomputes."""
    for name, stage in stages().items():
        drawing = "uncertainty/report/plots/common.py" in closure(command_module(stage))
        assert drawing == (name in FIGURE_STAGES), name


# Training and inference run the models: the layers above them never re-run either.
LAYERS_ABOVE_THE_MODELS = ("uncertainty/methods/", "uncertainty/evaluation/", "uncertainty/report/")


def test_training_depends_on_nothing_it_does_not_run() -> None:
    """A message, a class name, a cross-key rule, a metric, a report helper or a figure edit never retrains."""
    train = closure(command_module(stages()["train"]))
    above = [path for path in train if path.startswith(LAYERS_ABOVE_THE_MODELS)]
    assert not above, above
    for module in (
        "models/regressors", "data/ood_inputs", "models/mc", "config", "data/fashion_mnist", "models/summaries",
        "core/vocabulary", "data/contract",
    ):  # fmt: skip
        assert f"uncertainty/{module}.py" not in train, module


def test_each_stage_depends_on_the_schema_of_its_own_sections() -> None:
    """Training reads `train` alone: another section's schema (a new conformal option) never retrains."""
    train = closure(command_module(stages()["train"]))
    assert sorted(p for p in train if p.startswith("uncertainty/core/schema/")) == [
        "uncertainty/core/schema/base.py",
        "uncertainty/core/schema/train.py",
    ]
    assert "uncertainty/core/schema/descriptions.py" not in set().union(
        *(closure(command_module(stage)) for name, stage in stages().items() if name != "check_params")
    )


def test_each_stage_reads_the_sections_it_declares() -> None:
    """A stage's SECTIONS (what it reads of params.yaml) are the sections of its dvc.yaml `params`, so
    DVC re-runs it when, and only when, one of them changes (the report reads the whole file, a dep)."""
    import importlib

    for name, stage in stages().items():
        declared = stage.get("do", stage).get("params")
        module = importlib.import_module(command_module(stage))
        if declared is None:
            assert not hasattr(module, "SECTIONS") or "params.yaml" in stage.get("deps", []), name
            continue
        assert set(module.SECTIONS) == {key.split(".")[0] for key in declared}, name


def test_a_method_edit_reruns_only_the_stages_that_fit_it() -> None:
    """predictors.py names the post-hoc methods by import path: only posthoc (and check_params) load them."""
    loading = {
        name
        for name, stage in stages().items()
        if "uncertainty/methods/laplace.py" in closure(command_module(stage))
    }
    assert loading == {"check_params", "posthoc"}


def test_a_metric_edit_never_resamples_mc_passes() -> None:
    """Inference runs the CNNs only: no method, metric, report or vocabulary edit re-runs it."""
    infer = closure(command_module(stages()["infer"]))
    above = [path for path in infer if path.startswith(LAYERS_ABOVE_THE_MODELS)]
    assert not above, above
    for module in ("config", "core/vocabulary"):
        assert f"uncertainty/{module}.py" not in infer, module


# The modules that import TensorFlow (directly or through Keras).
TENSORFLOW = {
    "uncertainty/models/cnn.py",
    "uncertainty/models/mc.py",
    "uncertainty/models/runtime.py",
    "uncertainty/models/tf_backend.py",
    "uncertainty/models/training.py",
}


def test_no_stage_after_inference_imports_tensorflow() -> None:
    """Only training (the CNNs and the article's regressors), inference and the article's two MC anecdotes
    (their own seeds and pass counts) run a network, and the health check (each model beside chance); every
    evaluation stage is numpy on their outputs."""
    for name, stage in stages().items():
        runs_a_network = bool(closure(command_module(stage)) & TENSORFLOW)
        running = {"regression", "train", "import", "infer", "infer_imported", "noise", "mc_batch", "health"}
        assert runs_a_network == (name in running), name
    for path in TENSORFLOW:
        text = (ROOT / path).read_text()
        assert "import tensorflow" in text or "import keras" in text, path  # the list above is not stale


def resolved_stages() -> dict[str, object]:
    """Every stage as DVC resolves dvc.yaml (vars interpolated, foreach expanded), by address."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {stage.addressing: stage for stage in repo.index.stages}


def test_every_stage_is_given_what_it_declares() -> None:
    """Each path on a stage's command line is one of its deps or outs (or a directory of its outs),
    and each of its outs is on its command line.

    dvc.yaml defines each path once, in `vars`, and uses it in the cmd and in deps/outs; this catches
    a path passed but not tracked, and an output declared but written elsewhere.
    """
    for address, stage in resolved_stages().items():
        words = shlex.split(stage.cmd)  # type: ignore[attr-defined]
        given = [value for option, value in itertools.pairwise(words) if option.startswith("--")]
        assert given, address
        deps = {str(dep.def_path) for dep in stage.deps}  # type: ignore[attr-defined]
        outs = {str(out.def_path) for out in stage.outs}  # type: ignore[attr-defined]
        for path in given:
            declared = path in deps or path in outs or any(out.startswith(f"{path}/") for out in outs)
            assert declared, (address, path)
        # and every output is given: as itself, or inside a directory the stage is given
        given_outs = {out for out in outs if any(out == path or out.startswith(f"{path}/") for path in given)}
        assert given_outs == outs, (address, sorted(outs - given_outs))


def test_the_lock_holds_no_stage_that_dvc_yaml_lost() -> None:
    """A stage removed from dvc.yaml leaves its entry in dvc.lock until someone deletes it: none here."""
    locked = set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"])
    assert locked <= set(resolved_stages()), sorted(locked - set(resolved_stages()))


def test_every_committed_result_file_is_a_declared_output() -> None:
    """A metrics file or table no stage writes any more (a layout change) would mislead a reader of the
    report and of `git log`; every file under reports/metrics/ and reports/tables/ is a stage's output."""
    declared = {
        str(out.def_path)
        for stage in resolved_stages().values()
        for out in stage.outs  # type: ignore[attr-defined]
    }
    for directory in ("reports/metrics", "reports/tables"):
        found = {str(path.relative_to(ROOT)) for path in (ROOT / directory).glob("*.json")}
        assert found <= declared, sorted(found - declared)


def test_the_tiny_repo_modules_are_the_ones_whose_tests_ask_for_it() -> None:
    """make test sends these modules to one worker (tests/conftest.py): a module whose tests or fixtures
    start taking the shared tiny run must join the list, or a second worker would build it again."""
    from tests.conftest import TINY_REPO_MODULES

    found = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(a.arg == "tiny_repo" for a in node.args.args):
                found.add(path.relative_to(ROOT).as_posix())
    assert found == set(TINY_REPO_MODULES)


def test_dvc_yaml_stays_short_enough_to_read() -> None:
    """Layer folders for the cheap stages, flow lists and one line per cached-off output keep the whole
    pipeline on one screenful of pages: at most 450 lines."""
    assert len((ROOT / "dvc.yaml").read_text().splitlines()) <= 450
