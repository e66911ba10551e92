"""Rewrite the .py deps of every stage in dvc.yaml to its import closure (a developer tool; the test checks)."""

from __future__ import annotations

import re

import yaml

from tests.test_deps import ROOT, closure, command_module

text = (ROOT / "dvc.yaml").read_text()
stages = yaml.safe_load(text)["stages"]
lines = text.splitlines(keepends=True)
out: list[str] = []
current = None
in_deps = False
deps_indent = ""
for line in lines:
    match = re.match(r"^  (\w+):\s*$", line)
    if match and match.group(1) in stages:
        current = match.group(1)
    dep_header = re.match(r"^(\s+)deps:\s*$", line)
    if dep_header and current:
        in_deps = True
        deps_indent = dep_header.group(1) + "  "
        out.append(line)
        code = [f"{deps_indent}- {path}\n" for path in sorted(closure(command_module(stages[current])))]
        continue
    if in_deps:
        item = re.match(r"^(\s+)- (\S+)\s*$", line)
        if item and item.group(1) == deps_indent:
            if not item.group(2).endswith(".py"):
                out.append(line)  # data deps first, then the code
            continue
        in_deps = False
        out.extend(code)
    out.append(line)
(ROOT / "dvc.yaml").write_text("".join(out))
