"""The import graph of ``catalog`` and ``dagster_project``: no circles between modules, and the
catalog stays free of Dagster.

Every ``import`` statement counts, wherever it is (a function's lazy import, a ``TYPE_CHECKING``
block): a lazy import only postpones a circle. An import names its most specific module
(``from catalog.lineage.query import X`` is an edge to ``catalog.lineage.query``, not to the
package ``catalog.lineage`` that Python also initialises).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from catalog.settings import REPO_ROOT

PACKAGES = ("catalog", "dagster_project")


@functools.cache
def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement loads: ``import a.b`` loads ``a.b``; ``from m
    import n`` loads ``m.n`` when that is a module of the packages, else ``m``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    modules = _modules()
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        for alias in node.names
    ]


def import_graph() -> dict[str, set[str]]:
    """Module -> every name it imports (of any package; lazy and type-only imports included)."""
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        names = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names.update(_imported(module, path, node))
    return graph


def module_graph() -> dict[str, set[str]]:
    """Module -> the modules of the packages it imports (the most specific one per name)."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for module, names in import_graph().items():
        targets = set()
        for name in names:
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and (target := ".".join(parts)) != module:
                targets.add(target)
        edges[module] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_cycles_finds_a_circle_and_only_circles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back():
    graph = module_graph()
    assert "dagster_project.project" in graph and "catalog.settings" in graph
    circles = cycles(graph)
    assert circles == [], "import circles (lazy imports included): " + "; ".join(
        " <-> ".join(c) for c in circles
    )


def test_catalog_never_imports_dagster():
    offending = sorted(
        f"{module} imports {name}"
        for module, names in import_graph().items()
        if module.split(".")[0] == "catalog"
        for name in names
        if name.split(".")[0] == "dagster_project" or name.split(".")[0].startswith("dagster")
    )
    assert offending == []
