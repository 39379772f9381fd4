"""Transfers and the agent's day over HTTP, with the PBX's side faked: which AMI action a
transfer sends for which call, what is refused, and what the call's history keeps."""

from __future__ import annotations

from test_cti_dialling import RecordingAmi
from test_cti_http import Served, served  # noqa: F401  (the served fixture)

from callcenter.core.call_record import CallRecord, Leg
from callcenter.core.contracts import StateSpan
from callcenter.cti.popper import PopUpdate

CALL = "1800000000.1"
NOW = 1_800_000_100.0


class Facts:
    def seat_label(self, interface: str) -> str:
        return self.seat_labels().get(interface, "")

    def seat_labels(self) -> dict[str, str]:
        return {"PJSIP/1001": "1号座席", "PJSIP/1002": "2号座席", "PJSIP/1003": "PJSIP/1003"}

    def zone_names(self, lang: str) -> dict[str, str]:
        return {"east": "东区" if lang == "zh" else "East"}

    def queue_names(self, lang: str) -> dict[str, str]:
        return {"support": "咨询" if lang == "zh" else "Enquiries"}

    def seat_paused(self, interface: str) -> bool:
        return interface == "PJSIP/1001"

    async def state_spans(self, interface: str, start: float, end: float) -> list[StateSpan]:
        return [StateSpan("paused", "meal", start + 10, start + 70),
                StateSpan("ready", "", start + 70, start + 100, current=True)]  # fmt: skip


def _alice_talking(served: Served) -> RecordingAmi:  # noqa: F811
    """张三's call popped at alice's seat and is up there, as the tracker has it."""
    card = {"caller_number": "13812345678", "started_at": NOW, "owners": [{"id": 1}]}
    seen = PopUpdate(interface="PJSIP/1001", pbx="main", call_id=CALL, state="answered", at=NOW,
                     card=card)  # fmt: skip
    served.cti.hub.recent.note(seen)
    legs = [
        Leg(CALL, "PJSIP/trunk-00000001", NOW, answered_at=NOW),
        Leg("1800000000.2", "PJSIP/1001-00000002", NOW + 5, answered_at=NOW + 9),
    ]
    record = CallRecord("main", CALL, caller_number="13812345678", legs=legs)
    served.cti.deps.open_call = lambda pbx, call_id: record if call_id == CALL else None
    ami = RecordingAmi()
    served.cti.deps.ami = ami
    served.cti.deps.seat_facts = Facts()
    return ami


async def test_a_blind_transfer_sends_blindtransfer_on_the_agents_channel(
    served: Served,  # noqa: F811
) -> None:
    ami = _alice_talking(served)
    alice = served.clients["alice"]
    body = {"pbx": "main", "call_id": CALL, "mode": "blind", "to": "seat", "target": "1002"}
    status, reply = await alice.post_json("/api/seat/transfer", body)
    assert status == 202, reply
    assert reply == {"pbx": "main", "call_id": CALL, "mode": "blind", "to": "seat",
                     "target": "1002", "target_label": "2号座席"}  # fmt: skip
    assert ami.actions == [{"Action": "BlindTransfer", "Channel": "PJSIP/1001-00000002",
                         "Exten": "1002", "Context": "from-internal"}]  # fmt: skip
    status, reply = await alice.post_json(
        "/api/seat/transfer", {**body, "mode": "attended", "to": "queue", "target": "support"}
    )
    assert status == 202 and ami.actions[-1]["Action"] == "Atxfer"
    assert ami.actions[-1]["Exten"] == "support"
    assert reply["target_label"] == "咨询"  # the page says where it went as the agent says it
    trail = served.cti.records.audit_trail(login="alice")
    transfers = [
        (r["action"], r["owner_id"], r["detail"]) for r in trail if r["action"] == "transfer"
    ]
    assert transfers == [
        ("transfer", 1, f"main/{CALL} attended -> queue support"),
        ("transfer", 1, f"main/{CALL} blind -> seat 1002"),
    ]


async def test_the_seat_page_offers_the_other_seats_by_label_and_the_queues_by_name(
    served: Served,  # noqa: F811
) -> None:
    _alice_talking(served)
    alice = served.clients["alice"]
    async with alice.http.get(alice.base + "/seat") as response:
        page = await response.text()
    offered = '{"seat": [["PJSIP/1002", "2号座席"], ["PJSIP/1003", "PJSIP/1003"]], '
    assert f'const TRANSFER_TARGETS = {offered}"queue": [["support", "咨询"]]}};' in page


async def test_transfers_nowhere_or_of_someone_elses_call_are_refused(
    served: Served,  # noqa: F811
) -> None:
    ami = _alice_talking(served)
    alice, bob = served.clients["alice"], served.clients["bob"]
    body = {"pbx": "main", "call_id": CALL, "mode": "blind", "to": "seat", "target": "1002"}
    refused = [
        (alice, {**body, "target": "1001"}, 400),  # her own seat
        (alice, {**body, "target": "10x2"}, 400),
        (alice, {**body, "to": "housekeeper"}, 409),  # 李管家 has no seat
        (alice, {**body, "call_id": "1800000999.1"}, 404),
        (bob, body, 403),  # not bob's call
    ]
    for client, request, want in refused:
        status, reply = await client.post_json("/api/seat/transfer", request)
        assert status == want, (request, reply)
        assert reply["error"]["zh"] and reply["error"]["en"]
    assert ami.actions == []


async def test_the_agents_day_comes_from_their_calls_and_seat_state(
    served: Served,  # noqa: F811
) -> None:
    _alice_talking(served)
    status, day = await served.clients["alice"].get_json("/api/seat/day")
    assert status == 200, day
    assert day["interface"] == "PJSIP/1001" and day["agent"] == "Agent 1001"
    assert (day["pause_s"], day["state"], day["state_s"]) == ({"meal": 60}, "ready", 30)
    assert day["paused"] is True  # paused in the queues, whatever the state (a wrap-up)
