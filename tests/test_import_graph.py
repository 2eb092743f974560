"""The package's modules import one another without a cycle, function-level imports included.

An import inside a function is still a dependency: it only hides a cycle until the function
runs. Imports under ``if TYPE_CHECKING:`` are for the type checker alone and are left out.
``from package import module`` is a dependency on that module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import infinityframe

ROOT = Path(infinityframe.__file__).parent


def modules() -> dict[str, tuple[Path, list[str]]]:
    """Every module of the package: its file and the package its relative imports start from."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        package = parts[:-1]
        if parts[-1] == "__init__":
            parts = package = parts[:-1]
        found[".".join(parts)] = (path, package)
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return hidden


def import_graph() -> dict[str, set[str]]:
    found = modules()
    graph: dict[str, set[str]] = {name: set() for name in found}
    for name, (path, package) in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                target = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    graph[name].add(submodule if submodule in found else target)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names)
        graph[name] = {dep for dep in graph[name] if dep in found and dep != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "infinityframe.client.session" in graph["infinityframe.frames._core"]  # a function-level import
    assert "infinityframe.params.jobs" in graph["infinityframe.client.session"]


def test_the_detector_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_client_does_not_import_the_frame_adapter() -> None:
    graph = import_graph()
    for name, deps in graph.items():
        if name.startswith(("infinityframe.client", "infinityframe.params", "infinityframe.results")):
            assert not {d for d in deps if d.startswith("infinityframe.frames")}, name


# The layers of docs/architecture.md, lowest first: a module imports only from its own layer
# or a lower one. A module belongs to the layer of its longest listed prefix (below the package).
# The imports that point up are listed, with why.
LAYERS = [
    {"errors", "_paths", "_sqlite", "_version"},
    # models over parameters
    {"params", "learn.space", "learn.effects", "learn.suggest", "learn.gp", "learn.candidates", "learn.results"},
    {"local"},
    {"results"},
    {"client"},
    {"plots", "report", "_frame_images", "_frame_sheet", "learn.figures", "learn.report"},
    {"frames"},
    {"cli", "demo", "__main__", "", "learn", "learn.sweep"},
]
UPWARD = {
    ("infinityframe.results.core", "infinityframe.plots"),  # res.plot(...) hands over to plots
    ("infinityframe.results.core", "infinityframe.learn.figures"),  # and res.plot_effects(...)
}


def layer(module: str) -> int:
    parts = module.split(".")[1:]
    for size in range(len(parts), -1, -1):
        prefix = ".".join(parts[:size])
        for i, members in enumerate(LAYERS):
            if prefix in members:
                return i
    raise LookupError(f"{module} has no layer: place it in LAYERS and in docs/architecture.md")


def test_every_module_has_a_layer() -> None:
    for name in import_graph():
        layer(name)


def test_imports_point_down_the_layers() -> None:
    upward = sorted((name, dep) for name, deps in import_graph().items() for dep in deps
                    if layer(dep) > layer(name) and (name, dep) not in UPWARD)
    assert not upward, "imports that point up a layer (docs/architecture.md): " + "; ".join(
        f"{name} -> {dep}" for name, dep in upward)


def test_the_layer_check_can_fail() -> None:
    assert layer("infinityframe.params.rules") < layer("infinityframe.client.session")
    assert layer("infinityframe") > layer("infinityframe.frames.accessors")
    session = layer("infinityframe.client.session")
    assert layer("infinityframe.learn.suggest") < session < layer("infinityframe.learn.sweep")
