"""The annotated reference ``config/callcenter.yaml`` names every setting the service reads,
and the service accepts it as it is.

A setting added to ``callcenter/config.py`` (or a package's ``settings.py``) without a
line in the reference fails here, naming its dotted key (``pbxes[].timezone``), so whoever
sets the service up finds every key, its default and its meaning in one file.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from callcenter.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "config" / "callcenter.yaml"


def _dataclass_in(hint: Any) -> type[Any] | None:
    """The settings dataclass a field holds, directly or as the items of a list."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        if isinstance(item, type) and dataclasses.is_dataclass(item):
            return item
    return None


def missing_keys(cls: type[Any], node: Any, prefix: str = "") -> list[str]:
    """Every field of ``cls`` (recursively) that ``node``, the parsed YAML, does not name."""
    if not isinstance(node, dict):
        return [prefix.rstrip(".") or "settings"]
    missing: list[str] = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        dotted = f"{prefix}{f.name}"
        if f.name not in node:
            missing.append(dotted)
            continue
        inner = _dataclass_in(hints[f.name])
        if inner is None:
            continue
        value = node[f.name]
        if get_origin(hints[f.name]) is list:
            if not isinstance(value, list) or not value:
                missing.append(f"{dotted}[] (an example item)")
                continue
            for item in value:  # every example item shows every key
                missing.extend(missing_keys(inner, item, f"{dotted}[]."))
        else:
            missing.extend(missing_keys(inner, value, f"{dotted}."))
    return sorted(set(missing))


def test_the_reference_names_every_setting() -> None:
    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    missing = missing_keys(Settings, reference)
    assert not missing, f"config/callcenter.yaml does not document: {', '.join(missing)}"


def test_the_walk_finds_nested_and_list_item_keys() -> None:
    partial = {
        "timezone": "UTC",
        "pbxes": [{"name": "main", "ami": {"host": "x"}}],
        "routing": {"minimums": []},
    }
    found = missing_keys(Settings, partial)
    assert "pbxes[].timezone" in found
    assert "pbxes[].ami.secret" in found
    assert "routing.minimums[] (an example item)" in found
    assert "ivr" in found and "timezone" not in found


def test_the_reference_loads_with_its_defaults_where_it_gives_them() -> None:
    settings = load_settings(REFERENCE, environ={})
    # Values the reference gives as the defaults stay the defaults.
    assert settings.ivr == Settings().ivr
    assert settings.pbxes[0].timezone == ""


def test_config_check_passes_the_reference() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "--config", str(REFERENCE), "config", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("settings OK")
