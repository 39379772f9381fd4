"""Reloading flows: a broken version is refused and the last good one keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path

from callcenter.ivr.registry import FlowRegistry

ROOT = Path(__file__).resolve().parent.parent


def test_reload_keeps_the_last_good_version(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "ivr_flows", tmp_path / "flows")
    registry = FlowRegistry(tmp_path / "flows", hotlines={"4008001000": "hotline"},
                            queues={"support", "repair", "complaint"})  # fmt: skip
    assert registry.reload() == []
    good = registry.flow_for("4008001000")
    assert good is not None and good.name == "hotline"
    hotline = tmp_path / "flows" / "hotline.yaml"
    hotline.write_text(hotline.read_text().replace("queue: repair", "queue: plumbing"))
    assert registry.changed()
    problems = registry.reload()
    assert [p.reason for p in problems] == [
        "unknown queue 'plumbing' (known: complaint, repair, support)"
    ]
    assert registry.flow_for("4008001000") is good  # still serving the previous version
    assert registry.refused == problems
