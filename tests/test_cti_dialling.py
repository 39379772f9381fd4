"""The dialling policy: emergency numbers, other countries and unknown prefixes are never
rung from a seat, by click-to-call or by a work order's callback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from cti_fixtures import add_users, client_for, serving, sqlite_engine

from callcenter.cti.dialling import DialRefused, check_dial
from callcenter.cti.feature import CtiFeature
from callcenter.cti.phones import normalize
from callcenter.cti.settings import CtiSettings, DiallingSettings

POLICY = DiallingSettings()


def dial(raw: str, policy: DiallingSettings = POLICY) -> str:
    return check_dial(raw, normalize(raw, default_area_code="21"), policy)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),  # +86 is national
        ("0086 21 6123 4567", "02161234567"),
        ("6123 4567", "02161234567"),
        ("400-800-1000", "4008001000"),
        ("95588", "95588"),
    ],
)
def test_local_numbers_are_dialled(raw: str, expected: str) -> None:
    assert dial(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("110", "emergency"),
        ("120", "emergency"),
        ("112", "emergency"),
        ("+44 20 7946 0958", "international"),
        ("0044 20 7946 0958", "international"),
        ("+1 212 555 0100", "international"),
    ],
)
def test_emergency_and_international_numbers_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(DialRefused, match=reason):
        dial(raw)


def test_international_numbers_when_allowed_and_prefixes_narrowed() -> None:
    assert dial("+44 20 7946 0958", DiallingSettings(international=True)) == "442079460958"
    with pytest.raises(DialRefused, match="emergency"):
        dial("110", DiallingSettings(international=True, allowed_prefixes=[]))
    mobiles_only = DiallingSettings(allowed_prefixes=["1"])
    assert dial("13800138000", mobiles_only) == "13800138000"
    with pytest.raises(DialRefused, match="allowed prefix"):
        dial("021 6123 4567", mobiles_only)


class RecordingAmi:
    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []

    async def send_action(
        self, fields: Mapping[str, str | Sequence[str]], timeout: float | None = None
    ) -> dict[str, str]:
        self.actions.append({k: str(v) for k, v in fields.items()})
        return {"Response": "Success"}


async def test_click_to_call_and_callbacks_obey_the_policy(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    ami = RecordingAmi()
    cti = CtiFeature(engine, CtiSettings(default_area_code="21"), ami=ami)
    add_users(cti.accounts)
    await cti.start()
    app = web.Application()
    cti.routes(app)
    async with serving(app) as base, client_for(base, "alice") as alice:
        for number in ("110", "112", "+44 20 7946 0958", "0044 20 7946 0958"):
            status, body = await alice.post_json("/api/seat/call", {"number": number})
            assert status == 400 and isinstance(body, dict), (number, body)
            assert body["error"]["en"].startswith("number:") and body["error"]["zh"], body
        # a number the seat can't read: why, in the agent's language as much as in English
        for number, zh, en in (("", "请输入号码", "enter a phone number"),
                               ("13x", "号码中不能有“x”", "unexpected character 'x'")):  # fmt: skip
            status, body = await alice.post_json("/api/seat/call", {"number": number})
            assert status == 400 and isinstance(body, dict)
            assert body["error"]["zh"] == zh and body["error"]["en"].startswith(en)
        assert ami.actions == []
        status, order = await alice.post_json(
            "/api/workorders", {"kind": "enquiry", "caller_number": "+44 20 7946 0958"}
        )
        assert status == 201 and isinstance(order, dict)
        status, body = await alice.post_json(f"/api/workorders/{order['id']}/callback", {})
        assert status == 400 and isinstance(body, dict) and "international" in body["error"]["en"]
        assert ami.actions == []
        status, body = await alice.post_json("/api/seat/call", {"number": "138 0013 8000"})
        assert status == 202, body
    assert [a["Exten"] for a in ami.actions] == ["13800138000"]
    await cti.stop()
    engine.dispose()
