"""The pure IVR engine: the hotline's paths, and properties over random valid flows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo
from callcenter.ivr import engine as e
from callcenter.ivr import schema as s
from callcenter.ivr.loader import load_files
from callcenter.ivr.schema import Flow
from callcenter.ivr.validator import validate

TZ = ZoneInfo("Asia/Shanghai")
FLOWS = {f.name: f for f in load_files([Path(__file__).resolve().parent.parent / "ivr_flows"])[0]}
DAY = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)  # a Friday
NIGHT = datetime(2026, 11, 27, 22, 30, tzinfo=TZ)
NATIONAL_DAY = datetime(2026, 10, 1, 10, 0, tzinfo=TZ)


def run(inputs: list[e.Input], when: datetime = DAY, flows: dict[str, Flow] = FLOWS,
        flow: str = "hotline") -> tuple[e.State, list[e.Command]]:  # fmt: skip
    state, cmds = e.step(flows, e.begin(flow), e.Start(caller="13800001111", dialled="4008001000",
                                                      when=when, call_id="c1", pbx="sim"))  # fmt: skip
    every = list(cmds)
    for inp in inputs:
        state, cmds = e.step(flows, state, inp)
        every += cmds
    return state, every


def emitted(cmds: list[e.Command], kind: type[ev.Event]) -> list[ev.Event]:
    return [c.event for c in cmds if isinstance(c, e.Emit) and isinstance(c.event, kind)]


def test_repairs_key_1_queues_in_repair_then_surveys_after_the_agent() -> None:
    state, cmds = run([e.LookupDone(owner=None), e.Digits(text="1")])
    assert state.waiting == "queue"
    assert cmds[-1] == e.QueueCall("repair", 0, 120.0, True)
    left = emitted(cmds, ev.IvrLeft)
    assert [(x.outcome, x.target, x.path) for x in left] == [  # type: ignore[attr-defined]
        ("queue", "repair", ("hours", "holiday_check", "welcome", "identify", "main", "repair"))
    ]
    state, cmds = e.step(FLOWS, state, e.Done(status="ANSWERED"))
    assert isinstance(cmds[-1], e.ReadDigits) and cmds[-1].prompts == ("survey",)
    state, cmds = e.step(FLOWS, state, e.Digits(text="4"))
    assert e.SetVariable("SURVEY_SCORE", "4") in cmds
    assert [x.score for x in emitted(cmds, ev.SurveyAnswered)] == [4]  # type: ignore[attr-defined]
    assert isinstance(cmds[-1], e.HangupCall) and state.ended
    assert not emitted(cmds, ev.IvrLeft)  # the caller left the IVR once, into the queue


def test_out_of_hours_goes_to_voicemail_with_a_callback_work_order() -> None:
    state, cmds = run([], when=NIGHT)
    assert state.ended and state.outcome == "voicemail"
    # the dialplan takes the message: route and mailbox are said before the prompt, so a
    # session that ends during "please leave a message" still reaches the mailbox
    route = cmds.index(e.SetVariable("HOTLINE_ROUTE", "voicemail"))
    assert cmds[route - 1] == e.SetVariable("HOTLINE_MAILBOX", "100@default")
    assert cmds.index(e.Play(("leave_message",), "zh")) > route
    assert cmds[-1] == e.RecordVoicemail("100@default")
    assert not any(isinstance(c, e.HangupCall) for c in cmds)  # the channel stays up
    (callback,) = emitted(cmds, ev.CallbackRequested)
    assert callback.reason == "out_of_hours" and callback.caller_number == "13800001111"  # type: ignore[attr-defined]


def routes_set(cmds: list[e.Command]) -> list[str]:
    return [c.value for c in cmds if isinstance(c, e.SetVariable) and c.name == "HOTLINE_ROUTE"]


def test_the_goodbye_says_hangup_before_it_plays() -> None:
    owner = OwnerInfo("o1", balances={"31201": 350})
    state, cmds = run([e.LookupDone(owner=owner), e.Digits(text="3"), e.Digits(text="31201#"),
                       e.Timeout()])  # fmt: skip
    assert state.ended and state.outcome == "hangup"
    route = cmds.index(e.SetVariable("HOTLINE_ROUTE", "hangup"))
    assert cmds.index(e.Play(("goodbye",), "zh")) > route
    assert cmds[-1] == e.HangupCall() and routes_set(cmds) == ["hangup"]


DIRECT_DIAL = """
flow: direct
languages: [zh]
start: desk
nodes:
  desk: {kind: dial, to: PJSIP/1005, ring_timeout: 20s, fallback: bye}
  bye: {kind: hangup}
"""


def test_a_call_an_application_served_ends_done(tmp_path: Path) -> None:
    (tmp_path / "direct.yaml").write_text(DIRECT_DIAL, encoding="utf-8")
    loaded, problems = load_files([tmp_path])
    assert problems == [] and validate(loaded) == []
    flows = {f.name: f for f in loaded}
    state, cmds = e.step(flows, e.begin("direct"), e.Start(caller="1", dialled="2", when=DAY))
    assert cmds[-1] == e.DialTarget("PJSIP/1005", 20.0)
    assert routes_set(cmds) == []  # nothing said before the Dial: the dialplan reads DIALSTATUS
    state, cmds = e.step(flows, state, e.Done(status="ANSWER"))
    assert cmds == [e.SetVariable("HOTLINE_ROUTE", "done"), e.HangupCall()] and state.ended


def test_a_broken_flow_hands_the_caller_to_the_fallback_not_the_hangup() -> None:
    state, cmds = e.step(FLOWS, e.begin("no_such_flow"), e.Start(caller="1", dialled="2", when=DAY))
    assert state.ended and state.outcome == "error"
    assert cmds[-2:] == [e.SetVariable("HOTLINE_ROUTE", "fallback"), e.ReturnToDialplan()]
    assert not any(isinstance(c, e.HangupCall) for c in cmds)


def test_stop_hands_a_caller_in_the_menu_to_the_fallback_where_they_were() -> None:
    state, cmds = run([e.LookupDone(owner=None)])
    menu = cmds[-1]
    assert isinstance(menu, e.ReadDigits) and menu.prompts == ("main_menu",)
    state, cmds = e.step(FLOWS, state, e.Stop(reached=menu.depth))
    (left,) = emitted(cmds, ev.IvrLeft)
    assert (left.outcome, left.path[-1]) == ("fallback", "main")  # type: ignore[attr-defined]
    assert cmds[-2:] == [e.SetVariable("HOTLINE_ROUTE", "fallback"), e.ReturnToDialplan()]
    assert state.ended and e.step(FLOWS, state, e.Timeout()) == (state, [])


def test_stop_during_the_survey_after_a_queue_is_done_not_a_second_queue() -> None:
    state, _ = run([e.LookupDone(owner=None), e.Digits(text="1")])
    state, cmds = e.step(FLOWS, state, e.Done(status="ANSWERED"))
    assert isinstance(cmds[-1], e.ReadDigits)  # the survey
    state, cmds = e.step(FLOWS, state, e.Stop())
    assert not emitted(cmds, ev.IvrLeft)  # the caller left once, into the queue
    assert cmds == [e.SetVariable("HOTLINE_ROUTE", "done"), e.ReturnToDialplan()]
    assert (state.outcome, state.target) == ("queue", "repair")


def test_public_holiday_gets_the_holiday_greeting_in_place_of_the_usual_one() -> None:
    _, cmds = run([], when=NATIONAL_DAY)
    plays = [c for c in cmds if isinstance(c, e.Play)]
    assert plays == [e.Play(("holiday_welcome",), "zh", escape="123409")]
    _, cmds = run([], when=DAY)
    plays = [c for c in cmds if isinstance(c, e.Play)]
    assert plays == [e.Play(("welcome",), "zh", escape="123409")]


def test_owner_with_a_housekeeper_is_dialled_first_then_falls_back_to_the_queue() -> None:
    owner = OwnerInfo("o7", name="王", vip=True, housekeeper_interface="PJSIP/1005")
    state, cmds = run([e.LookupDone(owner=owner)])
    assert cmds[-1] == e.DialTarget("PJSIP/1005", 20.0)
    assert [x.owner_id for x in emitted(cmds, ev.CallerIdentified)] == ["o7"]  # type: ignore[attr-defined]
    state, cmds = e.step(FLOWS, state, e.Done(status="NOANSWER"))
    assert cmds[-1] == e.QueueCall("support", 10, 120.0, False)  # a VIP: priority 10
    # the caller came back from the dial and left again, into the queue
    assert [x.outcome for x in emitted(cmds, ev.IvrLeft)] == ["queue"]  # type: ignore[attr-defined]


def test_fees_reads_back_the_balance_of_the_unit_or_says_it_is_unavailable() -> None:
    owner = OwnerInfo("o1", balances={"31201": 350})
    _, cmds = run([e.LookupDone(owner=owner), e.Digits(text="3"), e.Digits(text="31201#")])
    assert e.SayValue("350", "number", "zh") in cmds
    _, cmds = run([e.LookupDone(owner=owner), e.Digits(text="3"), e.Digits(text="99999#")])
    assert e.Play(("balance_unavailable",), "zh", escape="10*") in cmds  # fees_more's keys


def test_english_on_key_9_and_a_silent_caller_reaches_an_agent() -> None:
    state, cmds = run([e.LookupDone(owner=None), e.Digits(text="9")])
    assert e.SetVariable("CHANNEL(language)", "en") in cmds
    assert cmds[-1] == e.ReadDigits(("main_menu",), "en", 1, 3.0, "#", escape="123409")
    state, cmds = e.step(FLOWS, state, e.Timeout())  # silence: an agent, no second round
    assert cmds[-1] == e.QueueCall("support", 0, 120.0, True)
    assert state.language == "en"


def test_a_wrong_key_hears_the_menu_once_more_then_an_agent() -> None:
    state, cmds = run([e.LookupDone(owner=None), e.Digits(text="7")])
    assert cmds[-1] == e.ReadDigits(("invalid", "main_menu"), "zh", 1, 3.0, "#", escape="123409")
    state, cmds = e.step(FLOWS, state, e.Digits(text="8"))
    assert cmds[-1] == e.QueueCall("support", 0, 120.0, True)
    assert state.path[-3:] == ("main_again", "agent", "agent_queue")


def test_prompts_before_a_menu_stop_on_its_keys_and_others_on_none() -> None:
    _, cmds = run([])
    welcome = next(c for c in cmds if isinstance(c, e.Play))
    assert welcome == e.Play(("welcome",), "zh", escape="123409")  # the main menu's options
    _, cmds = run([e.LookupDone(owner=None), e.Digits(text="1")])
    assert e.Play(("connecting",), "zh") in cmds  # a queue follows: nothing to press for
    _, cmds = run([e.LookupDone(owner=None), e.Digits(text="1"), e.Done(status="ANSWERED")])
    assert cmds[-1] == e.ReadDigits(("survey",), "zh", 1, 5.0, "#", escape="12345")
    _, cmds = run([e.LookupDone(owner=None), e.Digits(text="3")])
    assert isinstance(cmds[-1], e.ReadDigits) and cmds[-1].escape == "0123456789"  # a unit


def test_a_key_pressed_during_a_prompt_counts_at_the_menu_it_leads_to() -> None:
    menu = e.ReadDigits(("main_menu",), "zh", 1, 3.0, "#", escape="123409")
    assert e.typed_ahead("1", menu)
    assert e.typed_ahead("1", e.Play(("balance_is",), "zh", escape="123409"))  # skipped
    assert e.typed_ahead("1", e.SayValue("350", "number", "zh"))
    assert not e.typed_ahead("1", e.Play(("to_housekeeper",), "zh"))  # led elsewhere: lost
    assert not e.typed_ahead("", menu)
    flow = Flow("f", "a", {
        "a": s.Play("a", ("p",), "b"), "b": s.Goto("b", "g"),
    }, file="f.yaml")  # fmt: skip
    other = Flow("g", "m", {
        "m": s.Menu("m", ("q",), {"5": "h", "#": "h"}, "h", "h"), "h": s.Hangup("h"),
    }, file="g.yaml")  # fmt: skip
    assert e.ahead({"f": flow, "g": other}, "f", "b") == "5#"  # through a goto


def test_caller_hangup_ends_the_walk_with_the_path() -> None:
    state, cmds = run([e.LookupDone(owner=None), e.Digits(text="3"), e.Hangup()])
    (left,) = emitted(cmds, ev.IvrLeft)
    assert left.outcome == "caller_hangup"  # type: ignore[attr-defined]
    assert left.path[-1] == "fees_unit"  # type: ignore[attr-defined]
    assert e.step(FLOWS, state, e.Digits(text="1")) == (state, [])


def test_hangup_during_a_prompt_ends_the_path_where_the_caller_was() -> None:
    # Start runs hours -> holiday_check -> welcome -> identify in one batch: the welcome
    # prompt is still playing when the caller hangs up, the lookup was only run ahead.
    state, cmds = run([])
    play = next(c for c in cmds if isinstance(c, e.Play))
    assert play.prompts == ("welcome",) and state.path[-1] == "identify"
    state, cmds = e.step(FLOWS, state, e.Hangup(reached=play.depth))
    (left,) = emitted(cmds, ev.IvrLeft)
    assert left.path == ("hours", "holiday_check", "welcome")  # type: ignore[attr-defined]
    assert state.node == "welcome"


def test_unexpected_inputs_are_ignored() -> None:
    state, _ = run([e.LookupDone(owner=None)])
    assert e.step(FLOWS, state, e.Done(status="ANSWER")) == (state, [])
    assert e.step(FLOWS, state, e.LookupDone(owner=None)) == (state, [])


# --- properties over random valid flows ----------------------------------------------------
QUIET = 400  # inputs fed after the random ones, answering as a silent caller would


def _node(draw: st.DrawFn, i: int, n: int) -> s.Node:
    nid = f"n{i}"
    later = st.integers(i + 1, n - 1).map(lambda j: f"n{j}")
    anywhere = st.integers(0, n - 1).map(lambda j: f"n{j}")
    if i == n - 1:
        kind = draw(st.sampled_from(["hangup", "voicemail", "queue"]))
    else:
        kind = draw(st.sampled_from(["play", "menu", "collect", "lookup", "balance", "branch",
                                     "set", "queue", "dial", "voicemail", "survey", "hangup",
                                     "goto"]))  # fmt: skip
    p = ("p",)
    if kind == "play":
        return s.Play(nid, p, draw(later), say=draw(st.sampled_from(["", "unit"])))
    if kind == "menu":
        opts = draw(
            st.dictionaries(st.sampled_from("0123456789*#"), anywhere, min_size=1, max_size=4)
        )
        return s.Menu(nid, p, opts, draw(later), draw(anywhere),
                      retries=draw(st.integers(0, 3)))  # fmt: skip
    if kind == "collect":
        return s.Collect(nid, p, "unit", draw(anywhere), draw(later),
                         max_digits=draw(st.integers(1, 6)), pattern=draw(st.sampled_from(["", "[0-9]+"])),
                         retries=draw(st.integers(0, 2)))  # fmt: skip
    if kind in ("lookup", "balance"):
        return s.Lookup(nid, draw(later), draw(later), what="owner" if kind == "lookup" else "balance",
                        vip=draw(st.sampled_from(["", f"n{n - 1}"])),
                        housekeeper=draw(st.sampled_from(["", f"n{n - 1}"])))  # fmt: skip
    if kind == "branch":
        conds = [s.Condition(open="day"), s.Condition(holiday=True), s.Condition(var="unit"),
                 s.Condition(owner="vip"), s.Condition(language="en")]  # fmt: skip
        cases = draw(st.lists(st.builds(s.Case, st.sampled_from(conds), later), max_size=3))
        return s.Branch(nid, tuple(cases), draw(later))
    if kind == "set":
        return s.SetVars(
            nid, draw(later), {"unit": "1"}, language=draw(st.sampled_from(["", "en"]))
        )
    if kind == "queue":
        tail = i == n - 1
        return s.Queue(nid, "support", overflow="" if tail else draw(st.sampled_from(["", f"n{n - 1}"])),
                       after="" if tail else draw(st.sampled_from(["", *[f"n{j}" for j in range(n)]])))  # fmt: skip
    if kind == "dial":
        return s.Dial(nid, draw(st.sampled_from(["housekeeper", "PJSIP/1001"])), draw(later),
                      after=draw(st.sampled_from(["", f"n{n - 1}"])))  # fmt: skip
    if kind == "voicemail":
        return s.Voicemail(nid, callback=draw(st.booleans()))
    if kind == "survey":
        return s.Survey(nid, p, draw(later), retries=draw(st.integers(0, 2)))
    if kind == "goto":
        return s.Goto(nid, "other")
    return s.Hangup(nid)


@st.composite
def valid_flows(draw: st.DrawFn) -> dict[str, Flow]:
    n = draw(st.integers(2, 12))
    nodes = {f"n{i}": _node(draw, i, n) for i in range(n)}
    reached, stack = set(), ["n0"]
    while stack:  # keep what the start reaches, so that no node is unreachable
        nid = stack.pop()
        if nid not in reached:
            reached.add(nid)
            stack += list(s.targets(nodes[nid]).values())
    day = s.Schedule("day", frozenset(range(5)), 8 * 60, 20 * 60)
    main = Flow("main", "n0", {k: v for k, v in nodes.items() if k in reached},
                schedules={"day": day}, file="main.yaml")  # fmt: skip
    other = Flow("other", "a", {"a": s.Play("a", ("p",), "b"), "b": s.Hangup("b")}, file="o.yaml")
    flows = {"main": main, "other": other}
    assert validate(flows.values()) == []
    return flows


owners = st.one_of(st.none(), st.builds(
    OwnerInfo, owner_id=st.just("o"), vip=st.booleans(), arrears=st.booleans(),
    housekeeper_interface=st.sampled_from(["", "PJSIP/1009"]),
    balances=st.just({"1": 5}), language=st.sampled_from(["", "en", "zh"]),
))  # fmt: skip
inputs = st.one_of(
    st.builds(e.Digits, text=st.text("0123456789*#", max_size=6)),
    st.builds(e.Timeout),
    st.builds(e.LookupDone, owner=owners),
    st.builds(
        e.Done, status=st.sampled_from(["ANSWERED", "ANSWER", "NOANSWER", "TIMEOUT", "BUSY", ""])
    ),
    st.builds(e.Start, caller=st.just("1"), dialled=st.just("2"), when=st.just(DAY)),
)


def quiet_reply(state: e.State) -> e.Input:
    return {"digits": e.Timeout(), "lookup": e.LookupDone(owner=None)}.get(
        state.waiting, e.Done(status="TIMEOUT")
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_flows(), st.lists(inputs, max_size=25), st.sampled_from([DAY, NIGHT, NATIONAL_DAY]),
       st.booleans())  # fmt: skip
def test_any_valid_flow_and_inputs_end_in_queue_dial_voicemail_or_hangup(
    flows: dict[str, Flow], seq: list[e.Input], when: datetime, hang_up: bool
) -> None:
    state, cmds = e.step(flows, e.begin("main"), e.Start(caller="1", dialled="2", when=when))
    assert len(cmds) < 50
    for inp in seq:
        before = state
        state, cmds = e.step(flows, state, inp)
        assert len(cmds) < 50  # bounded work per input
        assert e.step(flows, before, inp) == (state, cmds)  # deterministic
    if hang_up:
        state, cmds = e.step(flows, state, e.Hangup())
    for _ in range(QUIET):
        if state.ended:
            break
        state, cmds = e.step(flows, state, quiet_reply(state))
    assert state.ended
    assert state.outcome in ("queue", "dial", "voicemail", "hangup", "caller_hangup")
    assert state.path and state.path[0] == "n0"
    if state.outcome != "caller_hangup" and cmds:
        # every deliberate end tells the dialplan how, then ends the session
        assert routes_set(cmds), cmds
        assert isinstance(cmds[-1], e.HangupCall | e.RecordVoicemail | e.ReturnToDialplan)


def test_the_survey_session_speaks_the_language_the_caller_chose_earlier() -> None:
    def survey_prompt(channel_language: str, node: str = "survey") -> e.ReadDigits:
        start = e.Start(caller="13800001111", dialled="4008001000", when=DAY, call_id="c1",
                        pbx="sim", node=node, channel_language=channel_language)  # fmt: skip
        _, cmds = e.step(FLOWS, e.begin("hotline"), start)
        reads = [c for c in cmds if isinstance(c, e.ReadDigits)]
        assert reads, cmds
        return reads[0]

    # the first session set CHANNEL(language)=en; the survey is a new AGI session
    assert survey_prompt("en").language == "en"
    assert survey_prompt("").language == "zh"
    assert survey_prompt("fr").language == "zh"  # not one of the flow's languages


def test_a_new_call_keeps_the_flows_language_whatever_the_channel_default() -> None:
    # Asterisk gives every channel "en" unless configured: only the flow decides here.
    start = e.Start(caller="13800001111", dialled="4008001000", when=DAY, call_id="c1",
                    pbx="sim", channel_language="en")  # fmt: skip
    state, _ = e.step(FLOWS, e.begin("hotline"), start)
    assert state.language == "zh"


def test_the_channel_speaks_the_callers_language_before_the_queue() -> None:
    # app_queue's announcements (and say.c's numbers) follow CHANNEL(language)
    _, cmds = run([e.LookupDone(owner=None), e.Digits(text="1")])
    said = [c for c in cmds if isinstance(c, e.SetVariable) and c.name == "CHANNEL(language)"]
    assert said == [e.SetVariable("CHANNEL(language)", "zh")]
    assert cmds.index(said[0]) < cmds.index(e.QueueCall("repair", 0, 120.0, True))
    _, cmds = run([e.LookupDone(owner=None), e.Digits(text="9"), e.Digits(text="1")])
    said = [c for c in cmds if isinstance(c, e.SetVariable) and c.name == "CHANNEL(language)"]
    assert said == [e.SetVariable("CHANNEL(language)", "en")]  # once, when chosen
