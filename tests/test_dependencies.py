"""What an install pulls in: only what the service imports.

panoramisk is the AMI ingest benchmark's baseline (decision 0001), in the ``bench`` extra;
the service has its own AMI client and never imports it.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "callcenter"


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def _name(requirement: str) -> str:
    """``panoramisk==1.4`` -> ``panoramisk``; ``psycopg[binary]==3`` -> ``psycopg``."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    assert match is not None, requirement
    return match.group(0).lower().replace("_", "-")


def imported_modules(path: Path) -> set[str]:
    """The top-level names a Python file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_panoramisk_is_only_the_benchmarks_extra() -> None:
    project = _project()
    runtime = {_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    extras: dict[str, list[str]] = project["optional-dependencies"]  # type: ignore[assignment]
    assert "panoramisk" not in runtime
    assert "panoramisk" not in {_name(r) for r in extras["dev"]}
    assert "panoramisk" in {_name(r) for r in extras["bench"]}


def test_the_service_never_imports_panoramisk() -> None:
    importers = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "panoramisk" in imported_modules(path)
    ]
    assert importers == []


def test_the_tests_never_import_panoramisk() -> None:
    """``make test`` installs the dev extra only."""
    here = Path(__file__).resolve().parent
    assert [p.name for p in sorted(here.rglob("*.py")) if "panoramisk" in imported_modules(p)] == []


def test_the_import_walk_sees_nested_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from panoramisk.manager import Manager\n    import os.path\n")
    assert imported_modules(source) == {"panoramisk", "os"}
