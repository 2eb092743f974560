"""One door per layer: the REST paths are spelled in one client module (and by the service's
routes), and no module reaches into another object's underscore attributes.

Both read the package's source with ``ast``: string constants outside docstrings, and
attribute accesses ``x._name`` whose ``x`` is not ``self``, ``cls`` or ``super()``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import infinityframe

ROOT = Path(infinityframe.__file__).parent
ENDPOINT = re.compile(r"^/?(api/|batch/|job_runs/|job_previews/|jobs/|account/)")
SPELLERS = {"client/_api.py", "local/app.py"}  # and the service's routes, local/routes/*.py

# Underscore names of other libraries that the package must use, each with why.
FOREIGN = {
    ("local/executors.py", "_processes"),  # concurrent.futures before 3.14: the workers to end at stop
    ("local/rendering.py", "_exit"),  # os._exit: a worker ends without running the parent's atexit hooks
    ("local/rendering.py", "_Popen"),  # multiprocessing's spawn: the worker's start, lighter
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sources() -> dict[str, ast.AST]:
    return {path.relative_to(ROOT).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(ROOT.rglob("*.py"))}


def endpoint_strings(tree: ast.AST) -> list[str]:
    docs = _docstrings(tree)
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and ENDPOINT.search(node.value)]


def underscore_reaches(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        found.append(node.attr)
    return found


def test_only_the_client_api_spells_an_endpoint_path() -> None:
    spelled = {name: strings for name, tree in sources().items()
               if name not in SPELLERS and not name.startswith("local/routes/") and (strings := endpoint_strings(tree))}
    assert not spelled, f"endpoint paths outside client/_api.py: {spelled}"
    assert "api/batch/" in endpoint_strings(sources()["client/_api.py"])  # the scan sees real paths


def test_no_module_reaches_into_underscore_attributes() -> None:
    reaches = {(name, attr) for name, tree in sources().items() for attr in underscore_reaches(tree)}
    assert not reaches - FOREIGN, f"underscore attributes of other objects: {sorted(reaches - FOREIGN)}"
    assert not FOREIGN - reaches, f"listed but no longer used: {sorted(FOREIGN - reaches)}"


def test_the_scans_can_fail() -> None:
    tree = ast.parse('"""Docs mention api/batch/."""\nurl = "api/batch/"\nsession._transport.send()\nself._ok = 1\n')
    assert endpoint_strings(tree) == ["api/batch/"]
    assert underscore_reaches(tree) == ["_transport"]
