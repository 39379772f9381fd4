"""Agents, seats, zones and queue names from YAML and CSV, with errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.routing.directory import load_directory, save_directory
from callcenter.routing.yamlio import RoutingConfigError


def test_shipped_directory_has_a_seat_for_everyone_and_a_housekeeper_per_zone() -> None:
    d = load_directory("config/agents.yaml")
    assert len(d.agents) == 31 and not d.problems()
    assert d.zone_of_building("7") is not None and d.zone_of_building("7").housekeeper == "gj02"  # type: ignore[union-attr]
    assert d.interface_of("gj01") == "PJSIP/1030"
    assert d.agent_by_interface("PJSIP/1001").id == "kf01"  # type: ignore[union-attr]
    assert {"support", "repair", "complaint", "zone-east", "zone-west"} <= d.queues()


def test_queues_have_names_in_both_languages_and_keep_them_when_saved(tmp_path: Path) -> None:
    d = load_directory("config/agents.yaml")
    assert d.queue_names("zh") == {"support": "咨询", "repair": "报修", "complaint": "投诉",
                                   "zone-east": "东区片区", "zone-west": "西区片区"}  # fmt: skip
    assert d.queue_names("en")["repair"] == "Repairs"
    save_directory(d, tmp_path / "agents.yaml")
    assert load_directory(tmp_path / "agents.yaml") == d
    # a queue nobody named shows its code; a name given only in Chinese serves English too
    (tmp_path / "few.yaml").write_text(
        "agents:\n  kf01: {name: A, queues: {support: 0, vip: 0}}\n"
        "queues:\n  support: {name_zh: 咨询}\n",
        encoding="utf-8",
    )
    few = load_directory(tmp_path / "few.yaml")
    assert few.queue_names("en") == {"support": "咨询", "vip": "vip"}


def test_csv_import_and_yaml_round_trip(tmp_path: Path) -> None:
    csv_file = tmp_path / "agents.csv"
    csv_file.write_text(
        "id,name,interface,team,queues,language\n"
        "kf01,张伟,PJSIP/1001,hotline,support:0;repair:2,zh\n"
        "kf02,Li Na,Local/1002@agents,hotline,support,en\n",
        encoding="utf-8",
    )
    d = load_directory(csv_file)
    assert d.agents["kf01"].queues == {"support": 0, "repair": 2}
    assert d.interface_of("kf02") == "Local/1002@agents" and d.agents["kf02"].language == "en"
    save_directory(d, tmp_path / "agents.yaml")
    assert load_directory(tmp_path / "agents.yaml") == d


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id,name,interface\nkf01,A,1001\n",
            "agents.csv:2: interface: interface '1001' must look like",
        ),
        (
            "id,name,queues\nkf01,A,support:x\n",
            "agents.csv:2: agents.kf01.queues: penalty in 'support:x'",
        ),
        ("id,name\n,A\n", "agents.csv:2: id: every row needs an agent id"),
    ],
)
def test_bad_csv_rows_name_their_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "agents.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutingConfigError) as err:
        load_directory(path)
    assert str(err.value).startswith(f"{path.parent}/{expected}")


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(
        "seats:\n  S1: {interface: PJSIP/1}\nagents:\n  a: {name: A, seat: S9}\n", encoding="utf-8"
    )
    with pytest.raises(
        RoutingConfigError, match=r"agents.yaml:4: agents.a.seat: unknown seat 'S9'"
    ):
        load_directory(path)
