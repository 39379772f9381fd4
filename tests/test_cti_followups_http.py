"""Callbacks, owner search and number linking over real HTTP: roles on every route (an
agent's own callbacks, a supervisor's team), CSRF, the search's reason, limit and audit,
and links that make the next lookup find the owner."""

from __future__ import annotations

import time
from typing import Any

import test_cti_http
from cti_fixtures import Client
from test_cti_http import Served

served = test_cti_http.served  # the same served app, owners and signed-in clients
CALL = {"pbx": "main", "call_id": "179573150.1"}  # a stored call alice took


async def _request(client: Client, method: str, path: str, body: Any) -> int:
    if method == "GET":
        return (await client.get_json(path))[0]
    return (await client.post_json(path, body))[0]


async def _bobs_order(served: Served) -> int:
    status, order = await served.clients["bob"].post_json(
        "/api/workorders", {"kind": "repair", "owner_id": 1, "caller_number": "13812345678"}
    )
    assert status == 201 and isinstance(order, dict)
    return int(order["id"])


async def _alices_callback(served: Served) -> dict[str, Any]:
    status, made = await served.clients["alice"].post_json(
        "/api/callbacks",
        {**CALL, "due_at": time.time() + 600, "reason": "问维修进度", "owner_id": 1},
    )
    assert status == 201 and isinstance(made, dict), made
    return made


async def test_role_matrix_on_the_follow_up_routes(served: Served) -> None:
    cb = (await _alices_callback(served))["id"]
    matrix: list[tuple[str, str, Any, dict[str | None, int]]] = [
        ("GET", "/api/callbacks", None, {None: 401, "alice": 200, "bob": 200, "sue": 200}),
        ("GET", f"/api/callbacks/{cb}", None, {None: 401, "alice": 200, "bob": 404, "sue": 200}),
        ("POST", f"/api/callbacks/{cb}/dial", {}, {None: 401, "alice": 503, "bob": 404, "sue": 409}),
        ("POST", f"/api/callbacks/{cb}/result", {"result": "no_answer"},
         {None: 401, "bob": 404, "alice": 200, "sue": 200}),
        ("POST", f"/api/callbacks/{cb}/cancel", {}, {None: 401, "bob": 404, "sue": 200, "alice": 409}),
        ("GET", "/api/owners/search?q=张三&reason=回电", None, {None: 401, "alice": 200, "sue": 200}),
        ("POST", "/api/owners/2/numbers", {"number": "02161234567"},
         {None: 401, "alice": 400, "sue": 200}),
        ("GET", "/api/workorders/departments", None, {None: 401, "alice": 200}),
    ]  # fmt: skip
    wrong = [
        f"{method} {path} as {who}: {got}, expected {want}"
        for method, path, body, expected in matrix
        for who, want in expected.items()
        if (got := await _request(served.clients[who], method, path, body)) != want
    ]
    assert wrong == []
    async with served.clients["alice"].http.post(
        f"{served.base}/api/callbacks",
        json={**CALL, "due_at": time.time() + 60, "reason": "x"},
        headers={"Origin": served.base},
    ) as resp:
        assert resp.status == 403  # no CSRF token  # fmt: skip


async def test_agents_list_their_own_callbacks_and_supervisors_the_team(served: Served) -> None:
    mine = await _alices_callback(served)
    assert mine["number"] == "***5678" and mine["owner_name"] == "张三"
    assert mine["standing"] == "upcoming" and mine["assignee"] == "alice"
    order = await _bobs_order(served)
    status, bobs = await served.clients["bob"].post_json(
        "/api/callbacks", {"work_order_id": order, "due_at": time.time() - 1000, "reason": "x"}
    )
    assert status == 400 and isinstance(bobs, dict) and "past" in bobs["error"]["en"]
    status, bobs = await served.clients["bob"].post_json(
        "/api/callbacks", {"work_order_id": order, "due_at": time.time() + 30, "reason": "报修进度"}
    )
    assert status == 201 and isinstance(bobs, dict)
    ids = {}
    for who, query in (
        ("alice", ""),
        ("alice", "?scope=team"),
        ("sue", "?scope=team"),
        ("sue", ""),
    ):
        _, listing = await served.clients[who].get_json("/api/callbacks" + query)
        assert isinstance(listing, dict)
        ids[who + query] = [c["id"] for c in listing["callbacks"]]
    assert ids == {"alice": [mine["id"]], "alice?scope=team": [mine["id"]],
                   "sue?scope=team": [bobs["id"], mine["id"]], "sue": []}  # fmt: skip
    # alice may not promise a callback on a work order that is not hers
    status, _ = await served.clients["alice"].post_json(
        "/api/callbacks", {"work_order_id": order, "due_at": time.time() + 60, "reason": "x"}
    )
    assert status == 404


async def test_a_follow_up_needs_a_done_order_and_its_score_closes_it(served: Served) -> None:
    bob = served.clients["bob"]
    order = await _bobs_order(served)
    body = {
        "kind": "satisfaction",
        "work_order_id": order,
        "due_at": time.time() + 60,
        "reason": "回访",
    }
    status, _ = await bob.post_json("/api/callbacks", body)
    assert status == 409  # not done yet
    for action in ({"action": "dispatch", "department": "cleaning"}, {"action": "finish"}):
        status, _ = await bob.post_json(f"/api/workorders/{order}/actions", action)
        assert status == 200
    status, follow_up = await bob.post_json("/api/callbacks", body)
    assert status == 201 and isinstance(follow_up, dict)
    path = f"/api/callbacks/{follow_up['id']}/result"
    status, refused = await bob.post_json(path, {"result": "reached"})
    assert status == 409 and isinstance(refused, dict) and "1 to 5" in refused["error"]["en"]
    status, done = await bob.post_json(path, {"result": "reached", "score": 5})
    assert status == 200 and isinstance(done, dict)
    assert done["score"] == 5 and done["work_order"]["state"] == "closed"
    _, full = await bob.get_json(f"/api/callbacks/{follow_up['id']}")
    assert isinstance(full, dict) and [a["score"] for a in full["attempts"]] == [5]


async def test_search_is_a_deliberate_audited_read(served: Served) -> None:
    alice, sue = served.clients["alice"], served.clients["sue"]
    status, refused = await alice.get_json("/api/owners/search?q=张三")
    assert status == 403 and isinstance(refused, dict)
    status, found = await alice.get_json("/api/owners/search?q=3栋&reason=业主来电未登记")
    assert status == 200 and isinstance(found, dict)
    assert found["owners"] == [{"id": 1, "name": "张三", "zone": "东区", "vip": True,
                                "units": ["3栋-2单元-1201"], "phones": ["***5678"]}]  # fmt: skip
    status, short = await alice.get_json("/api/owners/search?q=x&reason=x")
    assert status == 400 and isinstance(short, dict)  # one letter: refused in words
    assert short["error"]["zh"] == "请至少输入 2 个字母或数字，或一个汉字（如姓氏）"
    _, trail = await sue.get_json("/api/audit?login=alice")
    assert isinstance(trail, dict)
    searches = [(a["action"], a["detail"]) for a in trail["audit"] if a["action"] == "search"]
    assert searches[0] == ("search", "q: 3栋; found: 1; reason: 业主来电未登记")
    assert searches[1][1].startswith("refused 403")
    served.cti.deps.owner_reads.limit = 1  # the read above used the allowance
    status, _ = await alice.get_json("/api/owners/search?q=李四&reason=again")
    assert status == 429


async def test_a_linked_number_finds_its_owner_next_time(served: Served) -> None:
    sue = served.clients["sue"]
    status, linked = await sue.post_json("/api/owners/2/numbers", {"number": "021 6123 4567"})
    assert status == 200 and isinstance(linked, dict)
    assert linked["number"] == "***4567" and linked["owner"]["name"] == "李四"
    assert [o.name for o in served.cti.directory.find("02161234567")] == ["李四"]
    status, _ = await sue.post_json("/api/owners/99/numbers", {"number": "021 6123 4567"})
    assert status == 404
    # alice links only the caller of a call of hers: this stored call is
    status, mine = await served.clients["alice"].post_json("/api/owners/2/numbers", CALL)
    assert status == 200 and isinstance(mine, dict)
    status, _ = await served.clients["bob"].post_json("/api/owners/2/numbers", CALL)
    assert status == 403
