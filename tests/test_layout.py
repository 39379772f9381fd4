"""The package layout holds (docs/architecture.md, decision 0027): no module imports
another that imports it back, directly or through others, whether the import is at the top
of the file or inside a function; no package does so either; and no module reaches for
another module's private names."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "callcenter"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.with_suffix("").relative_to(PACKAGE.parent).parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> Iterator[tuple[str, str]]:
    """(imported module, imported name or "") for every import of the package's own
    modules in ``path``, at any depth of the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("callcenter"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule, "") if submodule in modules else (base, alias.name)


@functools.cache
def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Module -> the modules it imports; and every ``module: from x import _private``."""
    modules = module_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for name, path in modules.items():
        for target, imported in imports_of(name, path, modules):
            if target in modules and target != name:
                graph[name].add(target)
            if imported.startswith("_") and not imported.startswith("__"):
                private.append(f"{name}: from {target} import {imported}")
    return graph, private


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def package_of(module: str) -> str:
    """``callcenter.cti`` for ``callcenter.cti.http``; a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def test_no_module_imports_itself_back() -> None:
    graph, _ = import_graph()
    assert cycles(graph) == []


def test_no_package_imports_itself_back() -> None:
    graph, _ = import_graph()
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = package_of(module)
        packages.setdefault(source, set()).update(
            package_of(t) for t in targets if package_of(t) != source
        )
    assert cycles(packages) == []


def test_no_module_imports_private_names_of_another() -> None:
    _, private = import_graph()
    assert private == []


def test_telephony_web_db_and_core_know_no_feature() -> None:
    graph, _ = import_graph()
    features = ("ivr", "routing", "cti", "recordings", "metrics", "calls")
    rules = {
        "callcenter.telephony": features,
        "callcenter.web": (*features, "telephony", "db"),
        "callcenter.db": features,
        "callcenter.core": (*features, "telephony", "web", "db"),
    }
    broken = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        for layer, forbidden in rules.items()
        if module.startswith(layer + ".") or module == layer
        for target in targets
        if any(target.startswith(f"callcenter.{name}") for name in forbidden)
    ]
    assert broken == []


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
