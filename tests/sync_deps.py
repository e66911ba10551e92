"""Rewrite the deps of every stage in dvc.yaml to what tests/test_deps.py expects (a developer tool; the test
checks): its data deps as they are, then its code, the import closure file by file for a stage that runs a
network and the layer folders for the others, as one flow list wrapped at the line length."""

from __future__ import annotations

import re

import yaml

from tests.test_deps import ROOT, code_deps_for, command_module, is_code

WIDTH = 110


def flow(indent: str, key: str, data: list[str], code: list[str]) -> list[str]:
    """`key: [data..., code...]`, data deps first (quoted: ${...} is not plain in a flow list), the code on
    lines of its own, each line at most WIDTH characters where an item allows."""
    lines, current = [], f"{indent}{key}: ["
    for group in (data, code):
        for index, item in enumerate(group):
            token = f'"{item}"' if "$" in item else item
            fresh = current.endswith("[") or current.strip() == ""
            candidate = current + ("" if fresh else " ") + token + ","
            if not fresh and (len(candidate) > WIDTH or (group is code and index == 0 and data)):
                lines.append(current)
                current = f"{indent}  {token},"
            else:
                current = candidate
    lines.append(current.rstrip(",") + "]")
    return [line + "\n" for line in lines]


def main() -> None:
    text = (ROOT / "dvc.yaml").read_text()
    stages = yaml.safe_load(text)["stages"]
    out: list[str] = []
    current = None
    lines = iter(text.splitlines(keepends=True))
    for line in lines:
        match = re.match(r"^  (\w+):\s*$", line)
        if match and match.group(1) in stages:
            current = match.group(1)
        header = re.match(r"^(\s+)deps:(.*)$", line)
        if not (header and current):
            out.append(line)
            continue
        indent, rest = header.group(1), header.group(2)
        comment = re.search(r"\s+#.*$", rest)
        if not rest.strip().startswith("["):  # a block list: its items follow, each deeper than `deps:`
            for following in lines:
                if not re.match(rf"^{indent}\s+- ", following):
                    deferred = following
                    break
            else:
                deferred = ""
        else:  # a flow list: up to its closing bracket
            deferred = ""
            closing = line
            while "]" not in closing.split("#")[0]:
                closing = next(lines)
        stage = stages[current].get("do", stages[current])
        data = [dep for dep in stage["deps"] if not is_code(dep)]
        block = flow(indent, "deps", data, code_deps_for(command_module(stages[current])))
        if comment:
            block[0] = block[0].rstrip("\n") + comment.group(0).rstrip("\n") + "\n"
        out.extend(block)
        if deferred:
            out.append(deferred)
    (ROOT / "dvc.yaml").write_text("".join(out))


if __name__ == "__main__":
    main()
