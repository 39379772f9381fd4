"""The flows directory as admins see it: the files, a flow's nodes, and a new or changed
file checked together with the others before it may be written.

A candidate file is validated with every other flow file of the directory, in a scratch
copy (flows ``goto`` each other, so a file is only good in its set); problems name the
file by its name in the directory (``hotline.yaml:12:5: ...``). Writing is atomic and
the registry reloads, so a call never meets half a file.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from callcenter.ivr.loader import Problem, flow_files
from callcenter.ivr.prompts import Catalogue
from callcenter.ivr.schema import Flow
from callcenter.ivr.validator import validate_paths

FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.ya?ml$")
MAX_FLOW_CHARS = 64 * 1024


class BadFlowName(ValueError):
    """The name is not a plain ``name.yaml`` in the flows directory."""


def check_name(name: str) -> str:
    if not FILE_NAME.match(name):
        raise BadFlowName("a flow file is named like hotline.yaml (letters, digits, _ and -)")
    return name


def listed(directory: Path) -> list[dict[str, Any]]:
    """The flow files directly in ``directory``, with their sizes."""
    files, _problems = flow_files([directory])
    return [
        {"file": str(p.relative_to(directory)), "bytes": p.stat().st_size}
        for p in files
        if p.parent == directory
    ]


def problem_dict(problem: Problem, scratch: Path) -> dict[str, Any]:
    path = Path(problem.file)
    name = str(path.relative_to(scratch)) if path.is_relative_to(scratch) else path.name
    named = dataclasses.replace(problem, file=name)
    place = f"{name}:{problem.line}:{problem.column}"
    return {"file": name, "line": problem.line, "column": problem.column,
            "reason": problem.reason, "text": str(named),
            "message": {"zh": f"{place}: {problem.reason_zh or problem.reason}",
                        "en": str(named)}}  # fmt: skip


def check_candidate(
    directory: Path,
    name: str,
    text: str,
    *,
    queues: Collection[str] | None,
    catalogue: Catalogue,
) -> list[dict[str, Any]]:
    """The problems of the directory's flows with ``name`` holding ``text`` ([] : good)."""
    check_name(name)
    files, _problems = flow_files([directory])
    with tempfile.TemporaryDirectory(prefix="ivr-check-") as raw:
        scratch = Path(raw)
        for path in files:
            if path.parent == directory and path.name != name:
                shutil.copy(path, scratch / path.name)
        (scratch / name).write_text(text, encoding="utf-8")
        _flows, problems = validate_paths([scratch], queues=queues, catalogue=catalogue)
        return [problem_dict(p, scratch) for p in problems]


def flow_view(flow: Flow, directory: Path) -> dict[str, Any]:
    """A flow for reading: its start, schedules and each node with its fields."""
    file = Path(flow.file)
    return {
        "name": flow.name,
        "file": str(file.relative_to(directory)) if file.is_relative_to(directory) else file.name,
        "description": flow.description,
        "start": flow.start,
        "languages": list(flow.languages),
        "nodes": [
            {"id": node_id, "type": type(node).__name__.lower(),
             "fields": {k: v for k, v in _plain(dataclasses.asdict(node)).items() if k != "id"}}
            for node_id, node in flow.nodes.items()
        ],
    }  # fmt: skip


def _plain(value: Any) -> Any:
    """Tuples and mappings as JSON has them."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
