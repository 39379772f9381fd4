"""The docker/ deployment: compose stack, service image, Asterisk configuration.

No Docker daemon runs here, so the files are checked against what the service expects
(its settings, parsers, flows and sample roster) and against facts from Asterisk's source.
Where an Asterisk binary is available (``CALLCENTER_TEST_ASTERISK``, else ``asterisk`` on
PATH), docker/asterisk/*.conf are also loaded into a real Asterisk that takes a hotline call
through the service's own FastAGI server, AMI client, durable-record parsers and tracker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from agi_fixtures import ivr_fastagi_server
from store_fixtures import free_port

from callcenter.calls.tracker import CallTracker
from callcenter.cli import main as cli_main
from callcenter.config import Settings, load_settings
from callcenter.core import events as ev
from callcenter.ivr.prompts import load_catalogue
from callcenter.ivr.registry import FlowRegistry
from callcenter.recordings.naming import parse_name
from callcenter.routing.sync import Action
from callcenter.sim.after_agi import after_hotline_agi
from callcenter.telephony import ami_events
from callcenter.telephony.ami import AmiActionError, AmiClient
from callcenter.telephony.durable import durable_events, parse_cdr_line
from callcenter.telephony.queue_log import parse_queue_log_line
from callcenter.testing import load_transcript

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
CONF = DOCKER / "asterisk"
CAPTURES = ROOT / "tests" / "data"
SECRETS = {
    "CALLCENTER_PBXES__0__AMI__SECRET": "ami-secret-for-tests-0123",
    "CALLCENTER_DATABASE__URL": "postgresql://callcenter:pw@postgres:5432/callcenter",
    "CALLCENTER_REDIS__URL": "redis://:pw@redis:6379/0",
    "CALLCENTER_RECORDINGS__LINK_SECRET": "link-secret-for-tests-0123",
}


# --- a small reader of Asterisk .conf files ------------------------------------------------


@dataclass
class Section:
    name: str
    is_template: bool
    templates: list[str]
    own: list[tuple[str, str]] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)  # templates' first

    def get(self, key: str) -> str | None:
        values = self.all(key)
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.entries if k == key]


_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?\s*$")


def _strip_comment(line: str) -> str:
    out, escaped = [], False
    for ch in line:
        if ch == ";" and not escaped:
            break
        escaped = ch == "\\" and not escaped
        out.append(ch)
    return "".join(out).strip()


def read_conf(path: Path) -> list[Section]:
    """Sections in file order; ``#include`` lines appear as ("#include", file) entries.

    ``key = value`` and ``key => value`` alike; ``[name](!)`` is a template, ``[name](a,b)``
    starts from templates a and b (their lines come first, as Asterisk copies them)."""
    sections: list[Section] = []
    by_name: dict[str, Section] = {}
    current: Section | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("#include"):
            assert current is not None, f"{path.name}: #include outside a section"
            current.own.append(("#include", line.split(None, 1)[1].strip().strip('"')))
            current.entries.append(current.own[-1])
            continue
        header = _SECTION.match(line)
        if header:
            options = [o.strip() for o in (header.group(2) or "").split(",") if o.strip()]
            current = Section(header.group(1), "!" in options, [o for o in options if o != "!"])
            for name in current.templates:
                assert name in by_name, f"{path.name}: [{current.name}] uses unknown {name}"
                current.entries.extend(by_name[name].entries)
            sections.append(current)
            if current.is_template:
                by_name[current.name] = current
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}: cannot read {raw!r}"
        entry = (key.strip(), value.removeprefix(">").strip())
        current.own.append(entry)
        current.entries.append(entry)
    return sections


def conf(name: str) -> list[Section]:
    return [s for s in read_conf(CONF / name) if not s.is_template]


def section(name: str, title: str, kind: str | None = None) -> Section:
    """The one section ``[title]`` (of ``type = kind`` where several share a name)."""
    found = [s for s in conf(name) if s.name == title and kind in (None, s.get("type"))]
    assert len(found) == 1, f"{name}: expected one [{title}], found {len(found)}"
    return found[0]


# --- the dialplan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    exten: str
    label: str
    app: str
    args: str


_STEP = re.compile(r"^(?P<prio>[^,(]+)(?:\((?P<label>[^)]*)\))?,(?P<app>\w+)(?:\((?P<args>.*)\))?$")


def dialplan() -> tuple[dict[str, str], dict[str, list[Step]]]:
    """Globals and, per context, the steps of every extension in order."""
    contexts: dict[str, list[Step]] = {}
    glob: dict[str, str] = {}
    for sec in read_conf(CONF / "extensions.conf"):
        if sec.name == "globals":
            glob.update(sec.own)
            continue
        if sec.name == "general":
            continue
        steps: list[Step] = []
        exten = ""
        for key, value in sec.own:
            if key == "exten":
                exten, _, value = value.partition(",")
            else:
                assert key == "same", f"[{sec.name}]: unexpected {key}"
            match = _STEP.match(value)
            assert match, f"[{sec.name}] {exten}: cannot read {value!r}"
            steps.append(Step(exten, match["label"] or "", match["app"], match["args"] or ""))
        contexts[sec.name] = steps
    return glob, contexts


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), text)


def agi_calls(number: str) -> list[str]:
    """The AGI URLs a call to ``number`` in [from-pstn] can reach (Gosub and Goto followed)."""
    glob, contexts = dialplan()
    found: list[str] = []

    def walk(context: str, exten: str, variables: dict[str, str], depth: int) -> None:
        assert depth < 5, "dialplan loop"
        for step in contexts[context]:
            if step.exten != exten:
                continue
            args = expand(step.args, variables)
            if step.app == "AGI":
                found.append(args)
            elif step.app in ("Gosub", "Goto") and "," in args.partition("(")[0]:
                # another context's extension (a Goto to a label stays in this one)
                target, _, params = args.partition("(")
                parts = target.split(",")
                values = [p for p in params.rstrip(")").split(",") if p] if params else []
                inner = {**variables, **{f"ARG{i}": v for i, v in enumerate(values, 1)}}
                walk(parts[0], parts[1], inner, depth + 1)

    walk("from-pstn", number, {**glob, "EXTEN": number}, 0)
    return found


# --- settings and files ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(DOCKER / "callcenter.yaml", environ=SECRETS)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _routing_file(path: str) -> Path:
    """The image copies config/<name> to the routing volume: read the repository's copy."""
    return ROOT / "config" / Path(path).name


def test_the_compose_settings_pass_the_services_own_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["--config", str(DOCKER / "callcenter.yaml"), "config", "check"]) == 0
    assert "settings OK" in capsys.readouterr().out
    # ...and without the secrets from the environment it refuses to start.
    monkeypatch.delenv("CALLCENTER_DATABASE__URL")
    assert cli_main(["--config", str(DOCKER / "callcenter.yaml"), "config", "check"]) == 2


def test_compose_mounts_files_that_exist_and_shares_the_right_folders(
    compose: dict[str, Any],
    settings: Settings,
) -> None:
    services = compose["services"]
    assert set(services) == {"asterisk", "postgres", "redis", "callcenter"}
    named = set(compose["volumes"])
    mounts: dict[str, dict[str, str]] = {}
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = DOCKER / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        mounts[name] = {}
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in named, f"{name} mounts undeclared volume {source}"
            mounts[name][target] = source
    asterisk, service = mounts["asterisk"], mounts["callcenter"]
    # MixMonitor's relative names land in <astspooldir>/monitor: the service indexes there.
    assert asterisk["/var/spool/asterisk/monitor"] == "recordings"
    assert service[settings.recordings.root] == "recordings"
    # queue_log and Master.csv: written under /var/log/asterisk, read from the same volume.
    pbx = settings.pbxes[0]
    for path in (pbx.queue_log, pbx.cdr_csv):
        assert path.startswith("/var/log/asterisk/")
    assert service["/var/log/asterisk"] == asterisk["/var/log/asterisk"] == "asterisk-logs"
    # The prompts the FastAGI IVR names (<sound_prefix>/<lang>/<id>) are Asterisk's sounds.
    sounds = f"/usr/share/asterisk/sounds/{settings.ivr.sound_prefix}"
    assert asterisk[sounds] == service["/var/lib/callcenter/prompt-audio"] == "prompt-audio"
    assert service["/etc/callcenter/callcenter.yaml"] == "./callcenter.yaml"
    assert services["callcenter"]["environment"]["CALLCENTER_CONFIG"] == (
        "/etc/callcenter/callcenter.yaml"
    )
    routing = settings.routing
    for path in (routing.agents_file, routing.shifts_file, routing.roster_file):
        assert service[str(Path(path).parent)] == "routing"
        assert _routing_file(path).is_file()


def test_compose_wires_hosts_secrets_and_time_zone_consistently(
    compose: dict[str, Any],
    settings: Settings,
) -> None:
    services = compose["services"]
    env = services["callcenter"]["environment"]
    pbx = settings.pbxes[0]
    assert pbx.ami.host == "asterisk" and pbx.ami.port == 5038
    # One variable feeds both sides of the AMI login.
    assert (
        services["asterisk"]["environment"]["AMI_SECRET"] == env["CALLCENTER_PBXES__0__AMI__SECRET"]
    )
    assert "${AMI_SECRET:?" in (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    assert "@postgres:5432/" in env["CALLCENTER_DATABASE__URL"]
    assert "@redis:6379/" in env["CALLCENTER_REDIS__URL"]
    # The file itself holds no secret: they all come from the environment.
    raw = yaml.safe_load((DOCKER / "callcenter.yaml").read_text(encoding="utf-8"))
    assert raw["pbxes"][0]["ami"]["secret"] == raw["database"]["url"] == raw["redis"]["url"] == ""
    assert raw["recordings"]["link_secret"] == ""
    # CDR dates are Asterisk's local time; the service reads them in its zone. Asterisk
    # takes that zone from /etc/localtime only, which the entrypoint points at $TZ.
    assert services["asterisk"]["environment"]["TZ"] == (pbx.timezone or settings.timezone)
    entrypoint = (DOCKER / "asterisk-image" / "entrypoint.sh").read_text(encoding="utf-8")
    assert 'ln -sf "/usr/share/zoneinfo/$TZ" /etc/localtime' in entrypoint
    assert " tzdata" in (DOCKER / "asterisk-image" / "Dockerfile").read_text(encoding="utf-8")
    # The FastAGI server listens where the dialplan connects.
    glob, _ = dialplan()
    assert glob["CALLCENTER_AGI"] == f"agi://callcenter:{settings.fastagi.port}"
    assert settings.fastagi.host == "0.0.0.0" and settings.web.host == "0.0.0.0"
    assert services["callcenter"]["ports"] == [f"127.0.0.1:{settings.web.port}:{settings.web.port}"]
    # The AMI and RTP/SIP addresses the configs trust are the compose network's.
    subnet = compose["networks"]["pbx"]["ipam"]["config"][0]["subnet"]
    assert subnet == "172.28.10.0/24"
    user = section("manager.conf", pbx.ami.username)
    assert user.all("permit") == ["172.28.10.0/255.255.255.0"]
    assert user.all("deny") == ["0.0.0.0/0.0.0.0"]
    assert section("pjsip.conf", "transport-udp").get("local_net") == subnet
    rtp = section("rtp.conf", "general")
    ports = f"{rtp.get('rtpstart')}-{rtp.get('rtpend')}"
    assert f"{ports}:{ports}/udp" in services["asterisk"]["ports"]
    assert "5060:5060/udp" in services["asterisk"]["ports"]


def test_the_service_image_runs_unprivileged_with_a_readiness_check() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "\nUSER callcenter\n" in final
    assert re.search(r"^HEALTHCHECK .*/readyz", final, re.M | re.S)
    assert "/readyz" in (ROOT / "callcenter" / "web" / "app.py").read_text(encoding="utf-8")
    assert "EXPOSE 8080 4573" in final
    for path in ("/var/spool/asterisk/monitor", "/var/lib/callcenter/routing"):
        assert f'"{path}"' in final
    # The service's user shares a group id with Asterisk's files.
    gid = re.search(r"ARG SHARED_GID=(\d+)", final)
    image = (DOCKER / "asterisk-image" / "Dockerfile").read_text(encoding="utf-8")
    assert gid and f"ARG SHARED_GID={gid.group(1)}" in image


# --- manager.conf -------------------------------------------------------------------------

# Each event's class, from its managerEvent documentation in Asterisk's source
# (main/manager_channels.c, manager_bridges.c, apps/app_queue.c, app_mixmonitor.c,
# app_chanspy.c, cdr/cdr_manager.c, main/manager.c).
EVENT_CLASS = {
    **dict.fromkeys(
        ["Newchannel", "Newstate", "NewCallerid", "Hangup", "DialBegin", "DialEnd",
         "BridgeEnter", "BridgeLeave", "BlindTransfer", "AttendedTransfer", "MixMonitorStart",
         "MixMonitorStop", "ChanSpyStart", "ChanSpyStop"], "call"),
    **dict.fromkeys(
        ["QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
         "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump", "QueueMemberAdded",
         "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus", "QueueMemberPenalty"], "agent"),
    "DTMFEnd": "dtmf", "Newexten": "dialplan", "Cdr": "cdr", "FullyBooted": "system",
}  # fmt: skip
# Names the translator also accepts that Asterisk 18-22 never send.
NOT_SENT_BY_18_TO_22 = {"NewExten", "QueueMemberPaused"}
# Each action's authority (ast_manager_register_xml[_core] in main/manager.c and
# apps/app_queue.c): any one of the classes allows it; none: every user may.
ACTION_CLASSES: dict[str, set[str]] = {
    "Originate": {"originate"},
    "QueueAdd": {"agent"},
    "QueueRemove": {"agent"},
    "QueuePause": {"agent"},
    "QueuePenalty": {"agent"},
    "BlindTransfer": {"call"},
    "Atxfer": {"call"},
    "CoreShowChannels": {"system", "reporting"},
    "QueueStatus": set(),
    "Ping": set(),
    "Login": set(),
    "Logoff": set(),
}


def _actions_the_service_sends() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "callcenter").rglob("*.py"):
        if "sim" in path.relative_to(ROOT / "callcenter").parts:
            continue  # the simulator is the PBX side
        names.update(re.findall(r'"Action": "(\w+)"', path.read_text(encoding="utf-8")))
    return names


def test_the_ami_user_has_the_classes_the_service_needs_and_no_more(settings: Settings) -> None:
    general = section("manager.conf", "general")
    assert general.get("enabled") == "yes"
    assert general.get("timestampevents") == "yes"
    user = section("manager.conf", settings.pbxes[0].ami.username)
    assert ("#include", "manager_callcenter_secret.conf") in user.entries
    assert user.get("secret") is None, "the secret comes from the environment"
    read = set((user.get("read") or "").split(","))
    write = set((user.get("write") or "").split(","))
    translated = set(ami_events._TRANSLATORS) - NOT_SENT_BY_18_TO_22
    assert translated == set(EVENT_CLASS)
    assert read == set(EVENT_CLASS.values())
    sent = _actions_the_service_sends() | {"Login", "Logoff"}
    assert sent <= set(ACTION_CLASSES), f"update manager.conf for {sent - set(ACTION_CLASSES)}"
    needed = [classes for name, classes in ACTION_CLASSES.items() if name in sent and classes]
    assert all(classes & write for classes in needed)
    # Each write class is needed by some action.
    assert all(any(w in classes for classes in needed) for w in write)


def _filters(user: Section) -> list[re.Pattern[str]]:
    # POSIX classes as glibc's regcomp reads them; regexec searches the whole event text,
    # and without REG_NEWLINE "." also matches line ends.
    return [re.compile(f.replace("[[:space:]]", r"\s"), re.DOTALL) for f in user.all("eventfilter")]


def _event_text(message: dict[str, str]) -> str:
    """An event as Asterisk formats it before filtering (main/manager.c): CRLF lines."""
    return "".join(f"{k}: {v}\r\n" for k, v in message.items()) + "\r\n"


def _passes(filters: list[re.Pattern[str]], message: dict[str, str]) -> bool:
    return any(f.search(_event_text(message)) for f in filters)


def test_event_filters_keep_what_the_service_translates_and_drop_the_rest(
    settings: Settings,
) -> None:
    filters = _filters(section("manager.conf", settings.pbxes[0].ami.username))
    assert filters and not any(
        f.startswith("!") for f in section("manager.conf", "callcenter").all("eventfilter")
    )
    messages = load_transcript(CAPTURES / "ami_events_queue_calls.txt") + load_transcript(
        CAPTURES / "ami_events_abandon.txt"
    )
    kept = dropped = 0
    for message in messages:
        name = message.get("Event", "")
        if ami_events.translate(message, "main") is not None:
            assert _passes(filters, message), f"{name} would be filtered out"
            kept += 1
        elif name not in ami_events._TRANSLATORS:
            assert not _passes(filters, message), f"{name} would reach the service"
            dropped += 1
    assert kept > 100 and dropped > 500
    # Every event name the service maps, even those the captures lack.
    for name in set(EVENT_CLASS) - {"Newexten"}:
        assert _passes(filters, {"Event": name, "Privilege": "x,all"}), name
    # Prefixes of other events do not slip through.
    for name in ("HangupRequest", "HangupHandlerRun", "NewConnectedLine", "CdrFoo", "VarSet"):
        assert not _passes(filters, {"Event": name, "Privilege": "x,all"}), name
    # Newexten only when it starts VoiceMail (the one the service uses).
    newexten = {"Event": "Newexten", "Privilege": "dialplan,all", "Channel": "PJSIP/trunk-1"}
    assert _passes(filters, {**newexten, "Application": "VoiceMail", "AppData": "100@default,u"})
    assert not _passes(filters, {**newexten, "Application": "Queue", "AppData": "support"})


# --- extensions.conf, queues.conf, pjsip.conf ---------------------------------------------


def test_every_hotline_number_reaches_the_fastagi_ivr_and_its_nodes(settings: Settings) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", hotlines=settings.hotlines,
                            queues=set(settings.ivr.queues))  # fmt: skip
    assert registry.reload() == []
    agi = f"agi://callcenter:{settings.fastagi.port}/"
    assert settings.hotlines
    for number in settings.hotlines:
        calls = agi_calls(number)
        assert calls and calls[0].startswith(agi), f"{number}: no AGI to the service"
        flow = registry.flow_for(number, "")
        assert flow is not None
        for call in calls:
            url, *args = call.split(",")
            assert args[:2] == [number, "${CALLERID(num)}"]  # agi_arg_1: the dialled number
            script = url.removeprefix(agi)
            flow_name, _, node = script.partition("/")
            assert registry.flow_for(number, flow_name) is flow
            assert not node or node in flow.nodes, f"{script}: no node {node} in {flow.name}"


def test_the_dialplan_queues_records_and_falls_back_as_the_settings_say(
    settings: Settings,
) -> None:
    glob, contexts = dialplan()
    steps = contexts["hotline"]
    apps = [s.app for s in steps]
    assert glob["QUEUE_MAX_WAIT"] == str(int(settings.routing.max_wait_s))
    assert glob["FALLBACK_QUEUE"] == settings.routing.general_queue
    assert glob["VOICEMAIL_BOX"] == settings.routing.voicemail_box
    assert glob["HOTLINE_LINES"] == str(settings.targets.line_capacity)
    assert settings.ivr.queue_mode == "dialplan"
    queues = [s for s in steps if s.app == "Queue"]
    assert [q.args.split(",")[0] for q in queues] == ["${HOTLINE_ROUTE}", "${ARG2}"]
    for queue in queues:
        # "c": continue in the dialplan when the agent hangs up (app_queue.c OPT_GO_ON);
        # the survey and the voicemail overflow need the caller back.
        assert queue.args.split(",")[1] == "c"
        assert queue.args.split(",")[4] == "${QUEUE_MAX_WAIT}"
        before = steps[: steps.index(queue)]
        assert any(s.app == "Set" and s.args.startswith("MONITOR_FILENAME=") for s in before)
    assert apps.index("Answer") < apps.index("AGI")
    assert any(s.args.startswith("CDR(userfield)=dnis:${ARG1}") for s in steps)
    assert [s.label for s in steps if s.label] == [
        "queue",
        "voicemail",
        "done",
        "survey",
        "fallback",
        "busy",
    ]
    # every hotline's own queue (the fallback without the IVR) is one the queues define
    for number in settings.hotlines:
        gosub = next(s for s in contexts["from-pstn"] if s.exten == number)
        assert gosub.app == "Gosub", number
        own = expand(gosub.args.partition("(")[2].rstrip(")").split(",")[1], glob)
        assert own == settings.routing.general_queue, number
    # The seats' context is the one click-to-call and callbacks originate into.
    assert settings.cti.originate_context in contexts
    assert settings.pbxes[0].inbound_contexts == ["from-pstn"]
    assert section("pjsip.conf", "trunk", "endpoint").get("context") == "from-pstn"


_CONDITION = re.compile(r'^\$\["(?P<left>[^"]*)" (?P<op>!?=) "(?P<right>[^"]*)"\]$')


def after_the_ivr(variables: dict[str, str]) -> tuple[str, str]:
    """Run [hotline] from the step after the first AGI, with the channel variables the AGI
    left, up to the first application that takes the caller: ("queue", name),
    ("voicemail", mailbox) or ("return", "")."""
    glob, contexts = dialplan()
    steps = [s for s in contexts["hotline"] if s.exten == "s"]
    labels = {s.label: i for i, s in enumerate(steps) if s.label}
    at = next(i for i, s in enumerate(steps) if s.app == "AGI") + 1
    known = {**glob, "ARG1": "4008001000", "ARG2": "support", "HOTLINE_MAILBOX": "100@default",
             **variables}  # fmt: skip

    def value(text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: known.get(m.group(1), ""), text)

    for _ in range(len(steps)):
        step = steps[at]
        if step.app == "GotoIf":
            condition, _, target = step.args.rpartition("?")
            test = _CONDITION.match(value(condition))
            assert test, f"cannot evaluate {step.args!r}"
            holds = (test["left"] == test["right"]) == (test["op"] == "=")
            at = labels[target] if holds else at + 1
        elif step.app == "Goto":
            at = labels[step.args]
        elif step.app == "Set":
            name, _, text = step.args.partition("=")
            known[name] = value(text)
            at += 1
        elif step.app == "NoOp":
            at += 1
        elif step.app in ("Queue", "VoiceMail"):
            return step.app.lower(), value(step.args.split(",")[0])
        else:
            assert step.app == "Return", step
            return "return", ""
    raise AssertionError("the dialplan loops")


def test_the_dialplan_after_the_ivr_is_what_the_simulator_does() -> None:
    """Every way an IVR session can end, through the shipped [hotline] and through the
    simulator's copy of it (callcenter/sim/after_agi.py): the same place."""
    expected = {"fallback": ("queue", "support"), "return": ("return", ""),
                "voicemail": ("voicemail", "100@default")}  # fmt: skip
    for status in ("SUCCESS", "FAILURE", "NOTFOUND"):
        for route in ("", "support", "zone-east", "hangup", "done", "voicemail", "fallback"):
            for dialstatus in ("", "ANSWER", "NOANSWER", "BUSY"):
                for queuestatus in ("", "CONTINUE", "TIMEOUT"):
                    chosen = after_hotline_agi(status, route, dialstatus, queuestatus)
                    want = expected.get(chosen.action, ("queue", chosen.queue))
                    got = after_the_ivr({"AGISTATUS": status, "HOTLINE_ROUTE": route,
                                         "DIALSTATUS": dialstatus, "QUEUESTATUS": queuestatus})  # fmt: skip
                    assert got == want, (status, route, dialstatus, queuestatus)
    # the field report: a session the service's death ended mid-prompt reaches an agent
    assert after_the_ivr({"AGISTATUS": "SUCCESS", "HOTLINE_ROUTE": ""}) == ("queue", "support")
    assert after_hotline_agi("HANGUP", "support").action == "stop"  # AGI returned -1


def _queues_the_service_uses(settings: Settings) -> set[str]:
    agents = yaml.safe_load(_routing_file(settings.routing.agents_file).read_text("utf-8"))
    used = {q for agent in agents["agents"].values() for q in agent.get("queues", {})}
    used |= {zone["queue"] for zone in agents.get("zones", {}).values() if zone.get("queue")}
    used |= set(settings.ivr.queues) | {settings.routing.general_queue}
    registry = FlowRegistry(ROOT / "ivr_flows", queues=set(settings.ivr.queues))
    assert registry.reload() == []
    for flow in registry.flows.values():
        used |= {getattr(n, "queue", "") for n in flow.nodes.values()} - {""}
    return used


def test_every_queue_the_roster_and_flows_use_is_defined_as_the_service_assumes(
    settings: Settings,
) -> None:
    general = section("queues.conf", "general")
    assert general.get("persistentmembers") == "no"  # the service owns membership
    queues = {s.name: s for s in conf("queues.conf") if s.name != "general"}
    used = _queues_the_service_uses(settings)
    assert used == {"support", "repair", "complaint", "zone-east", "zone-west"}
    assert used <= set(queues), f"undefined: {used - set(queues)}"
    for name, queue in queues.items():
        assert queue.get("wrapuptime") == str(int(settings.routing.wrapup_s)), name
        assert queue.get("strategy") not in (None, "wrandom"), name  # penalties order tiers
        assert queue.get("ringinuse") == "no", name
        assert queue.get("monitor-format") == "wav", name
        assert queue.get("servicelevel") == str(int(settings.targets.service_level_s)), name
        assert queue.get("joinempty") and queue.get("leavewhenempty"), name


def test_every_sample_seat_has_a_pjsip_endpoint_aor_and_auth(settings: Settings) -> None:
    agents = yaml.safe_load(_routing_file(settings.routing.agents_file).read_text("utf-8"))
    interfaces = {seat["interface"] for seat in agents["seats"].values()}
    assert len(interfaces) == 31
    objects: dict[tuple[str, str], Section] = {}
    for sec in conf("pjsip.conf"):
        objects[(sec.name, sec.get("type") or "")] = sec
    for interface in sorted(interfaces):
        tech, _, name = interface.partition("/")
        assert tech == "PJSIP"
        endpoint = objects[(name, "endpoint")]
        assert endpoint.get("context") == settings.cti.originate_context
        assert endpoint.get("direct_media") == "no"  # MixMonitor and ChanSpy see the media
        assert (endpoint.get("aors"), "aor") in objects
        auth = objects[(endpoint.get("auth") or "", "auth")]
        assert auth.get("username") == name
        assert ("#include", "pjsip_seat_password.conf") in auth.entries
    assert objects[("trunk", "identify")].get("endpoint") == "trunk"


# --- CDR, queue_log, recordings -------------------------------------------------------------

SAMPLE_CDR = {
    "accountcode": "", "src": "13800138000", "dst": "4008001000", "dcontext": "from-pstn",
    "clid": '"Owner, Wang" <13800138000>', "channel": "PJSIP/trunk-0000002a",
    "dstchannel": "Local/1001@agents-00000007;1", "lastapp": "Queue",
    "lastdata": "support,c,,,120", "start": "2026-11-24 10:00:01",
    "answer": "2026-11-24 10:00:02", "end": "2026-11-24 10:03:05", "duration": "184",
    "billsec": "183", "disposition": "ANSWERED", "amaflags": "DOCUMENTATION",
    "uniqueid": "1795740001.84", "userfield": "dnis:4008001000", "linkedid": "1795740001.80",
}  # fmt: skip


def _csv_quote(value: str) -> str:
    """func_strings.c CSV_QUOTE: in double quotes, inner quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


def _cdr_line(template: str, values: dict[str, str]) -> str:
    line = re.sub(
        r"\$\{CSV_QUOTE\(\$\{CDR\((\w+)\)\}\)\}", lambda m: _csv_quote(values[m.group(1)]), template
    )
    assert "${" not in line, f"unexpected template part in {line!r}"
    return line + "\n"


def test_master_csv_rows_parse_with_their_linkedid(settings: Settings) -> None:
    mappings = section("cdr_custom.conf", "mappings")
    (name, template), = mappings.own  # fmt: skip
    assert Path(settings.pbxes[0].cdr_csv) == Path("/var/log/asterisk/cdr-custom") / name
    row = parse_cdr_line(_cdr_line(template, SAMPLE_CDR), ZoneInfo(settings.timezone))
    assert row is not None, "durable.py cannot read what cdr_custom.conf writes"
    assert row.linkedid == "1795740001.80" and row.uniqueid == "1795740001.84"
    assert (row.src, row.dst, row.dcontext, row.clid) == (
        "13800138000", "4008001000", "from-pstn", '"Owner, Wang" <13800138000>',
    )  # fmt: skip
    assert (row.disposition, row.userfield, row.duration, row.billsec) == (
        "ANSWERED", "dnis:4008001000", 184, 183,
    )  # fmt: skip
    shanghai = ZoneInfo("Asia/Shanghai")
    assert row.answer == datetime(2026, 11, 24, 10, 0, 2, tzinfo=shanghai).timestamp()
    # An unanswered call: CDR(answer) is empty, which the parser reads as "never".
    missed = parse_cdr_line(_cdr_line(template, {**SAMPLE_CDR, "answer": "", "billsec": "0"}))
    assert missed is not None and missed.answer == 0.0
    # cdr.conf: unanswered and congested calls are written too (the "blocked" outcome).
    cdr = section("cdr.conf", "general")
    assert (cdr.get("unanswered"), cdr.get("congestion"), cdr.get("batch")) == ("yes", "yes", "no")
    assert "cdr_csv.so" in section("modules.conf", "modules").all("noload")
    assert section("cdr_manager.conf", "mappings").get("linkedid") == "LinkedID"


def test_queue_log_goes_where_the_service_reads_it(settings: Settings) -> None:
    logger = section("logger.conf", "general")
    assert logger.get("queue_log") == "yes"
    assert Path(settings.pbxes[0].queue_log) == Path("/var/log/asterisk") / (
        logger.get("queue_log_name") or "queue_log"
    )
    # log_membername_as_agent = no: ADDMEMBER/REMOVEMEMBER name the interface.
    assert section("queues.conf", "general").get("log_membername_as_agent") == "no"


def test_recording_names_are_what_the_indexer_reads(settings: Settings) -> None:
    _, contexts = dialplan()
    names = [
        s.args.removeprefix("MONITOR_FILENAME=")
        for s in contexts["hotline"]
        if s.args.startswith("MONITOR_FILENAME=")
    ]
    assert names and len(set(names)) == 1
    # app_queue adds ".<monitor-format>"; STRFTIME gives the day in Asterisk's TZ.
    day, uniqueid = "2026/11/24", "1795740001.80"
    stem = names[0].replace("${STRFTIME(${EPOCH},,%Y/%m/%d)}", day)
    path = f"{stem.replace('${UNIQUEID}', uniqueid)}.{section('queues.conf', 'support').get('monitor-format')}"
    parsed = parse_name(path, ZoneInfo(settings.timezone))
    assert parsed is not None and parsed.ids[0] == "1795740001.80"
    assert str(parsed.day) == "2026-11-24" and parsed.extension == "wav"


def test_the_entrypoint_writes_secrets_only_from_the_environment(tmp_path: Path) -> None:
    script = DOCKER / "asterisk-image" / "entrypoint.sh"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ASTERISK_CONF_DIR": str(tmp_path),
           "AMI_SECRET": "Abc123-secret_value.x", "SEAT_PASSWORD": "seat-pass-1",
           "VOICEMAIL_PIN": "2468"}  # fmt: skip
    done = subprocess.run(["sh", str(script), "render"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "manager_callcenter_secret.conf").read_text() == (
        "secret = Abc123-secret_value.x\n"
    )
    assert (tmp_path / "pjsip_seat_password.conf").read_text() == "password = seat-pass-1\n"
    assert (tmp_path / "voicemail_boxes.conf").read_text() == "100 => 2468,Hotline\n"
    assert (tmp_path / "pjsip_transport_nat.conf").read_text() == ""
    assert (tmp_path / "manager_callcenter_secret.conf").stat().st_mode & 0o007 == 0
    # Every file the configs #include is one the entrypoint writes.
    includes = {
        v for name in ("manager.conf", "pjsip.conf", "voicemail.conf")
        for s in read_conf(CONF / name) for k, v in s.entries if k == "#include"
    }  # fmt: skip
    assert includes == {p.name for p in tmp_path.iterdir()}
    # A ";" would cut the line at a comment; a short secret is refused too.
    for bad in ("secret;comment-here-long", "short"):
        refused = subprocess.run(["sh", str(script), "render"], env={**env, "AMI_SECRET": bad},
                                 capture_output=True, text=True)  # fmt: skip
        assert refused.returncode == 64 and "AMI_SECRET" in refused.stderr


# --- a real Asterisk, when one is installed -------------------------------------------------


def _asterisk_binary() -> Path | None:
    chosen = os.environ.get("CALLCENTER_TEST_ASTERISK") or shutil.which("asterisk")
    return Path(chosen) if chosen else None


def _module_dir(binary: Path) -> Path | None:
    candidates = [
        os.environ.get("CALLCENTER_TEST_ASTERISK_MODULES", ""),
        str(binary.resolve().parent.parent / "lib" / "asterisk" / "modules"),
        "/usr/lib/x86_64-linux-gnu/asterisk/modules",
        "/usr/lib/asterisk/modules",
        "/usr/lib64/asterisk/modules",
    ]
    return next((Path(c) for c in candidates if c and (Path(c) / "app_queue.so").exists()), None)


def _zone_asterisk_uses() -> ZoneInfo:
    """On Linux, Asterisk's time code (main/stdtime/localtime.c, ast_tzset) reads
    /etc/localtime for local times whatever TZ says: CDR dates and STRFTIME use it."""
    with open("/etc/localtime", "rb") as handle:
        return ZoneInfo.from_file(handle)


@dataclass
class RealPbx:
    binary: Path
    root: Path
    ami_port: int
    agi_port: int
    secret: str
    tester_secret: str

    def cli(self, command: str) -> str:
        done = subprocess.run([str(self.binary), "-C", str(self.root / "etc" / "asterisk.conf"),
                               "-rx", command], capture_output=True, text=True, timeout=20)  # fmt: skip
        return done.stdout


def _silent_prompts(sounds: Path, settings: Settings) -> None:
    """A 0.1 s silent WAV for every prompt, where STREAM FILE looks for it."""
    catalogue, problems = load_catalogue(ROOT / "ivr_flows" / "prompts")
    assert problems == []
    for lang, texts in catalogue.texts.items():
        folder = sounds / settings.ivr.sound_prefix / lang
        folder.mkdir(parents=True, exist_ok=True)
        for prompt in texts:
            with wave.open(str(folder / f"{prompt}.wav"), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(8000)
                out.writeframes(b"\0\0" * 800)


def _deploy(root: Path, modules: Path, ami_port: int, agi_port: int, tester_secret: str) -> None:
    """docker/asterisk as the entrypoint would install it, with the site-specific lines
    pointed at this machine: AMI port and address, the FastAGI address, plus a test user
    and an agents context (what the callers and phones of a real site would do)."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    for path in CONF.glob("*.conf"):
        shutil.copy(path, etc / path.name)
    dirs = {"astetcdir": etc, "astmoddir": modules, "astvarlibdir": root / "lib",
            "astdbdir": root / "lib", "astkeydir": root / "lib", "astdatadir": root / "lib",
            "astagidir": root / "agi", "astspooldir": root / "spool", "astrundir": root / "run",
            "astlogdir": root / "log"}  # fmt: skip
    for path in dirs.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    (root / "log" / "cdr-custom").mkdir()
    (etc / "asterisk.conf").write_text(
        "[directories]\n" + "".join(f"{k} => {v}\n" for k, v in dirs.items()) + "[options]\n"
    )

    def edit(name: str, old: str, new: str) -> None:
        text = (etc / name).read_text()
        assert old in text, f"{name}: {old!r} not found"
        (etc / name).write_text(text.replace(old, new, 1))

    edit("manager.conf", "port = 5038", f"port = {ami_port}")
    edit("manager.conf", "bindaddr = 0.0.0.0", "bindaddr = 127.0.0.1")
    edit("manager.conf", "permit = 172.28.10.0/255.255.255.0", "permit = 127.0.0.1/255.255.255.255")
    edit("extensions.conf", "agi://callcenter:4573", f"agi://127.0.0.1:{agi_port}")
    with (etc / "manager.conf").open("a") as out:
        out.write(f"\n[tester]\nsecret = {tester_secret}\nread = all\nwrite = all\n")
    with (etc / "extensions.conf").open("a") as out:
        out.write("\n[test-agents]\nexten => _X.,1,Answer()\n same => n,Wait(2)\n"
                  " same => n,Hangup()\n")  # fmt: skip


@pytest.fixture(scope="module")
def real_pbx(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[RealPbx]:
    binary = _asterisk_binary()
    if binary is None:
        pytest.skip("no Asterisk binary (set CALLCENTER_TEST_ASTERISK=/path/to/asterisk)")
    modules = _module_dir(binary)
    if modules is None:
        pytest.skip(f"no Asterisk modules next to {binary} (set CALLCENTER_TEST_ASTERISK_MODULES)")
    root = tmp_path_factory.mktemp("asterisk")
    pbx = RealPbx(binary, root, free_port(), free_port(), "ami-secret-for-tests-0123",
                  "tester-secret-0123")  # fmt: skip
    _deploy(root, modules, pbx.ami_port, pbx.agi_port, pbx.tester_secret)
    render = subprocess.run(
        ["sh", str(DOCKER / "asterisk-image" / "entrypoint.sh"), "render"],
        env={"PATH": os.environ.get("PATH", ""), "ASTERISK_CONF_DIR": str(root / "etc"),
             "AMI_SECRET": pbx.secret, "SEAT_PASSWORD": "seat-pass-1", "VOICEMAIL_PIN": "2468"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert render.returncode == 0, render.stderr
    _silent_prompts(root / "lib" / "sounds", settings)
    with (root / "console.log").open("w") as console:
        process = subprocess.Popen(
            [str(binary), "-C", str(root / "etc" / "asterisk.conf"), "-f", "-n", "-vvv"],
            stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "Asterisk Ready" not in (root / "console.log").read_text(errors="replace"):
            assert process.poll() is None, (root / "console.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "Asterisk did not start within 30 s"
            time.sleep(0.2)
        yield pbx
    finally:
        with contextlib.suppress(Exception):
            pbx.cli("core stop now")
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_a_real_asterisk_loads_the_configuration(real_pbx: RealPbx, settings: Settings) -> None:
    console = (real_pbx.root / "console.log").read_text(errors="replace")
    ours = [line for line in console.splitlines()
            if ("ERROR" in line or "WARNING" in line)
            and any(f"{p.name}" in line for p in CONF.glob("*.conf"))]  # fmt: skip
    assert ours == []
    for queue in _queues_the_service_uses(settings):
        assert f"{queue} has 0 calls" in real_pbx.cli(f"queue show {queue}")
    user = real_pbx.cli(f"manager show user {settings.pbxes[0].ami.username}")
    perms = dict(re.findall(r"(read|write) perm: (\S+)", user))
    assert set(perms["read"].split(",")) == set(EVENT_CLASS.values())
    assert set(perms["write"].split(",")) == {"originate", "agent", "call", "reporting"}
    plan = real_pbx.cli("dialplan show from-pstn")
    for number in settings.hotlines:
        assert f"'{number}' =>" in plan
    assert "Timestamp events:          Yes" in real_pbx.cli("manager show settings")
    assert "Log unanswered calls:       Yes" in real_pbx.cli("cdr show status")


async def _service_ami(pbx: RealPbx, username: str, secret: str,
                       events: list[dict[str, str]]) -> AmiClient:  # fmt: skip
    client = AmiClient("127.0.0.1", pbx.ami_port, username, secret, on_event=events.append,
                       ping_interval=30, action_timeout=10)  # fmt: skip
    await client.start()
    return client


async def test_the_service_user_may_do_what_the_service_does_and_no_more(
    real_pbx: RealPbx, settings: Settings
) -> None:
    events: list[dict[str, str]] = []
    ami = await _service_ami(real_pbx, settings.pbxes[0].ami.username, real_pbx.secret, events)
    try:
        assert (await ami.send_action({"Action": "Ping"}))["Response"] == "Success"
        channels = await ami.send_list_action({"Action": "CoreShowChannels"})
        assert channels[-1]["Event"] == "CoreShowChannelsComplete"
        member = "Local/1099@test-agents/n"
        add = Action("add", "repair", member, "kf99", 1, "").fields()
        assert (await ami.send_action(add))["Response"] == "Success"
        pause = Action("pause", "repair", member, "kf99", reason="break").fields()
        assert (await ami.send_action(pause))["Response"] == "Success"
        status = await ami.send_list_action({"Action": "QueueStatus", "Queue": "repair"})
        rows = [m for m in status if m.get("Event") == "QueueMember"]
        assert [(m["Location"], m["Name"], m["Paused"]) for m in rows] == [(member, "kf99", "1")]
        remove = Action("remove", "repair", member, "kf99").fields()
        assert (await ami.send_action(remove))["Response"] == "Success"
        # Click-to-call as callcenter/cti/http.py sends it: the seat, then the number in
        # cti.originate_context (Asterisk refuses an extension the context lacks).
        click = {"Action": "Originate", "Channel": "Local/1097@test-agents/n",
                 "Context": settings.cti.originate_context, "Exten": "13800138000",
                 "Priority": "1", "CallerID": "kf01", "Async": "true", "Timeout": "3000"}  # fmt: skip
        assert (await ami.send_action(click))["Response"] == "Success"
        with pytest.raises(AmiActionError, match="Extension does not exist"):
            await ami.send_action({**click, "Context": "from-pstn-missing"})
        # Originate into ChanSpy (listen/whisper/barge) is allowed without "system".
        spy = {"Action": "Originate", "Channel": "Local/1098@test-agents/n",
               "Application": "ChanSpy", "Data": "Local/1001@test-agents,qE",
               "Async": "true", "Timeout": "3000"}  # fmt: skip
        assert (await ami.send_action(spy))["Response"] == "Success"
        # ...while what the service never does is refused ("reporting" does allow the
        # read-only Getvar/Status/QueueSummary: CoreShowChannels needs it or "system").
        for forbidden in ({"Action": "Command", "Command": "core show uptime"},
                          {"Action": "Originate", "Channel": "Local/1@test-agents",
                           "Application": "System", "Data": "true"},
                          {"Action": "Hangup", "Channel": "Local/1@test-agents"},
                          {"Action": "Setvar", "Variable": "X", "Value": "1"},
                          {"Action": "Reload"}):  # fmt: skip
            with pytest.raises(AmiActionError, match=r"Permission denied|Forbidden"):
                await ami.send_action(forbidden)
        await asyncio.sleep(0.5)
        names = {m["Event"] for m in events}
        assert names and names <= set(EVENT_CLASS), names
        assert {"QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"} <= names
    finally:
        await ami.close()


async def test_a_hotline_call_through_a_real_asterisk(
    real_pbx: RealPbx, settings: Settings
) -> None:
    """A caller dials 4008001000, picks 0 in the menu, agent kf01 answers, hangs up; the
    caller hears the survey. What the service sees of it, live and from the files."""
    zone = ZoneInfo(settings.timezone)
    local = _zone_asterisk_uses()  # the container's is settings.timezone (entrypoint.sh)
    working_hours = datetime(2026, 11, 24, 10, 0, tzinfo=zone).timestamp()  # a Tuesday
    registry = FlowRegistry(ROOT / "ivr_flows", hotlines=settings.hotlines,
                            queues=set(settings.ivr.queues))  # fmt: skip
    assert registry.reload() == []
    ivr: list[ev.Event] = []
    server = ivr_fastagi_server("127.0.0.1", real_pbx.agi_port, flows=registry, lookup=None,
                                on_event=ivr.append, clock=lambda: working_hours,
                                zone=settings.timezone, sound_prefix=settings.ivr.sound_prefix,
                                queue_mode=settings.ivr.queue_mode)  # fmt: skip
    await server.start()
    seen: list[dict[str, str]] = []
    ami = await _service_ami(real_pbx, settings.pbxes[0].ami.username, real_pbx.secret, seen)
    world: list[dict[str, str]] = []
    tester = await _service_ami(real_pbx, "tester", real_pbx.tester_secret, world)
    member = "Local/1001@test-agents/n"
    try:
        add = Action("add", "support", member, "kf01", 0, "").fields()
        assert (await ami.send_action(add))["Response"] == "Success"
        await tester.send_action({
            "Action": "Originate", "Channel": "Local/4008001000@from-pstn",
            "Application": "Wait", "Data": "9", "CallerID": '"Owner" <13800138000>',
            "Async": "true",
        })  # fmt: skip
        caller = ""
        deadline = time.monotonic() + 15
        while not any(isinstance(e, ev.IvrLeft) for e in ivr):  # press 0 (agent) in the menu
            assert time.monotonic() < deadline, f"the IVR did not route: {ivr}"
            caller = caller or next((m["Channel"] for m in seen if m["Event"] == "Newchannel"
                                     and m["Channel"].endswith(";1")), "")  # fmt: skip
            if caller:
                with contextlib.suppress(AmiActionError):
                    await tester.send_action({"Action": "PlayDTMF", "Channel": caller,
                                              "Digit": "0", "Duration": "120"})  # fmt: skip
            await asyncio.sleep(0.4)
        deadline = time.monotonic() + 25
        while not any(m["Event"] == "Hangup" and m["Channel"] == caller for m in seen):
            assert time.monotonic() < deadline, "the call did not end"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # the CDR rows are written as the last channels go
    finally:
        with contextlib.suppress(Exception):
            await ami.send_action(Action("remove", "support", member, "kf01").fields())
        await tester.close()
        await ami.close()
        await server.close()

    # Live: only filtered events, each one translates; the tracker makes one answered call.
    names = [m["Event"] for m in seen]
    assert set(names) <= set(EVENT_CLASS), set(names) - set(EVENT_CLASS)
    for needed in ("QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete",
                   "MixMonitorStart", "Cdr", "DTMFEnd"):  # fmt: skip
        assert needed in names, needed
    assert all(float(m["Timestamp"]) > 0 for m in seen if m["Event"] != "FullyBooted")
    left = next(e for e in ivr if isinstance(e, ev.IvrLeft))
    assert (left.outcome, left.target) == ("queue", "support")
    assert server.stats["sessions"] == 2  # the menu, then the survey after the agent
    call_id = next(m["Linkedid"] for m in seen if m["Event"] == "QueueCallerJoin")
    tracker = CallTracker(inbound_contexts=frozenset(settings.pbxes[0].inbound_contexts))
    finished = []
    for message in seen:
        event = ami_events.translate(message, "main", tz=local)
        if event is not None:
            finished.extend(tracker.apply(event))
    record = next(r for r in finished if r.call_id == call_id)
    assert (record.outcome, record.queue, record.agent) == ("answered", "support", "kf01")
    assert record.hotline == "4008001000"

    # The files: Master.csv rows with the call's linkedid, queue_log lines, the recording.
    log = real_pbx.root / "log"
    rows = [parse_cdr_line(line, local) for line in
            (log / "cdr-custom" / "Master.csv").read_text().splitlines(keepends=True)]  # fmt: skip
    assert rows and all(r is not None for r in rows)
    mine = [r for r in rows if r is not None and r.linkedid == call_id]
    assert {r.userfield for r in mine} >= {"dnis:4008001000"}
    assert any(r.dcontext == "from-pstn" and r.dst == "4008001000" for r in mine)
    # CDR dates are local times: read in Asterisk's zone they are the events' instants.
    created = next(float(m["Timestamp"]) for m in seen
                   if m["Event"] == "Newchannel" and m["Channel"] == caller)  # fmt: skip
    first = min(r.start for r in mine)
    assert abs(first - created) < 1.5, (first, created)
    entries = [parse_queue_log_line(line) for line in (log / "queue_log").read_text().splitlines()]
    assert all(e is not None for e in entries)
    durable = durable_events([e for e in entries if e is not None], mine, "main")
    kinds = {(type(e).__name__, getattr(e, "member_name", "")) for e in durable
             if e.call_id == call_id}  # fmt: skip
    assert {("QueueJoined", ""), ("AgentAnswered", "kf01"), ("AgentCompleted", "kf01")} <= kinds
    start = next(m for m in seen if m["Event"] == "MixMonitorStart")
    recordings = list((real_pbx.root / "spool" / "monitor").rglob(f"{start['Uniqueid']}.wav"))
    assert len(recordings) == 1
    relative = recordings[0].relative_to(real_pbx.root / "spool" / "monitor").as_posix()
    parsed = parse_name(relative, local)
    assert parsed is not None and parsed.ids[0] == start["Uniqueid"]
    assert parsed.day == datetime.fromtimestamp(float(start["Timestamp"]), local).date()


async def _call_and_wait(pbx: RealPbx, tester: AmiClient, seen: list[dict[str, str]],
                         seconds: int = 6) -> str:  # fmt: skip
    """Place a trunk-like call to the first hotline; the caller's call id once it ended."""
    before = len(seen)
    await tester.send_action({
        "Action": "Originate", "Channel": "Local/4008001000@from-pstn", "Application": "Wait",
        "Data": str(seconds), "CallerID": '"Owner" <13900139000>', "Async": "true",
    })  # fmt: skip
    deadline = time.monotonic() + seconds + 10
    while True:
        fresh = seen[before:]
        caller = next((m for m in fresh if m["Event"] == "Newchannel"
                       and m["Channel"].startswith("Local/4008001000@from-pstn")
                       and m["Channel"].endswith(";1")), None)  # fmt: skip
        if caller and any(m["Event"] == "Hangup" and m["Channel"] == caller["Channel"]
                          for m in fresh):  # fmt: skip
            await asyncio.sleep(1.0)  # CDR rows follow the last hangup
            return caller["Linkedid"]
        assert time.monotonic() < deadline, "the call did not end"
        await asyncio.sleep(0.2)


async def test_with_the_ivr_down_or_every_line_taken_calls_are_still_handled(
    real_pbx: RealPbx, settings: Settings
) -> None:
    """No FastAGI server: callers go straight to the general queue. HOTLINE_LINES reached:
    they are refused with congestion and never queued (the service's "blocked")."""
    seen: list[dict[str, str]] = []
    ami = await _service_ami(real_pbx, settings.pbxes[0].ami.username, real_pbx.secret, seen)
    tester = await _service_ami(real_pbx, "tester", real_pbx.tester_secret, [])
    member = "Local/1002@test-agents/n"
    try:
        add = Action("add", settings.routing.general_queue, member, "kf02", 0, "").fields()
        assert (await ami.send_action(add))["Response"] == "Success"
        unreachable = await _call_and_wait(real_pbx, tester, seen)
        await tester.send_action({"Action": "Setvar", "Variable": "HOTLINE_LINES", "Value": "0"})
        refused = await _call_and_wait(real_pbx, tester, seen)
    finally:
        with contextlib.suppress(Exception):
            await tester.send_action({"Action": "Setvar", "Variable": "HOTLINE_LINES",
                                      "Value": str(settings.targets.line_capacity)})  # fmt: skip
        with contextlib.suppress(Exception):
            await ami.send_action(Action("remove", settings.routing.general_queue, member,
                                         "kf02").fields())  # fmt: skip
        await tester.close()
        await ami.close()

    def of(call_id: str, name: str) -> list[dict[str, str]]:
        return [m for m in seen if m["Event"] == name and m.get("Linkedid") == call_id]

    joined = of(unreachable, "QueueCallerJoin")
    assert [m["Queue"] for m in joined] == [settings.routing.general_queue]
    assert [m["MemberName"] for m in of(unreachable, "AgentConnect")] == ["kf02"]
    assert of(refused, "QueueCallerJoin") == []
    assert {m["Cause"] for m in of(refused, "Hangup")} >= {"34"}
    rows = [parse_cdr_line(line) for line in (real_pbx.root / "log" / "cdr-custom" /
            "Master.csv").read_text().splitlines(keepends=True)]  # fmt: skip
    blocked = [r for r in rows if r is not None and r.linkedid == refused
               and r.userfield == "dnis:4008001000"]  # fmt: skip
    assert [r.disposition for r in blocked] == ["CONGESTION"]


async def _wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_an_ivr_session_that_ends_without_a_route_reaches_the_fallback_queue(
    real_pbx: RealPbx, settings: Settings
) -> None:
    """A FastAGI server that closes the socket while GET DATA plays, as a crashed service
    does: res_agi cuts the prompt, AGISTATUS is SUCCESS and HOTLINE_ROUTE empty, and the
    dialplan queues the caller in the hotline's own queue. Then our own server, stopped
    while a caller is in its menu, says "fallback" first."""
    world: list[dict[str, str]] = []
    tester = await _service_ami(real_pbx, "tester", real_pbx.tester_secret, world)
    ami = await _service_ami(real_pbx, settings.pbxes[0].ami.username, real_pbx.secret, [])
    member = "Local/1003@test-agents/n"
    general = settings.routing.general_queue

    async def crashing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* environment
        writer.write(b"ANSWER\n")
        await writer.drain()
        await reader.readline()
        writer.write(f"GET DATA {settings.ivr.sound_prefix}/zh/main_menu 10000 1\n".encode())
        await writer.drain()
        await asyncio.sleep(0.3)  # the prompt plays; then the "service" is gone
        writer.close()

    def of(call_id: str, name: str, **fields: str) -> list[dict[str, str]]:
        return [m for m in world if m["Event"] == name and m.get("Linkedid") == call_id
                and all(m.get(k) == v for k, v in fields.items())]  # fmt: skip

    try:
        add = Action("add", general, member, "kf03", 0, "").fields()
        assert (await ami.send_action(add))["Response"] == "Success"
        crashed = await asyncio.start_server(crashing, "127.0.0.1", real_pbx.agi_port)
        try:
            call_id = await _call_and_wait(real_pbx, tester, world, seconds=8)
        finally:
            crashed.close()
            await crashed.wait_closed()
        assert [m["Value"] for m in of(call_id, "VarSet", Variable="AGISTATUS")] == ["SUCCESS"]
        assert of(call_id, "VarSet", Variable="HOTLINE_ROUTE") == []
        assert [m["Queue"] for m in of(call_id, "QueueCallerJoin")] == [general]
        # the socket's end cut GET DATA at once, not after its 10 s
        asked = next(m for m in of(call_id, "AGIExecStart") if m["Command"].startswith("GET DATA"))
        joined = of(call_id, "QueueCallerJoin")[0]
        assert float(joined["Timestamp"]) - float(asked["Timestamp"]) < 3.0

        registry = FlowRegistry(ROOT / "ivr_flows", hotlines=settings.hotlines,
                                queues=set(settings.ivr.queues))  # fmt: skip
        assert registry.reload() == []
        working_hours = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo(settings.timezone))
        server = ivr_fastagi_server("127.0.0.1", real_pbx.agi_port, flows=registry, lookup=None,
                                    on_event=lambda event: None, clock=working_hours.timestamp,
                                    zone=settings.timezone, sound_prefix=settings.ivr.sound_prefix,
                                    queue_mode=settings.ivr.queue_mode)  # fmt: skip
        await server.start()
        before = len(world)
        await tester.send_action({
            "Action": "Originate", "Channel": "Local/4008001000@from-pstn", "Application": "Wait",
            "Data": "8", "CallerID": '"Owner" <13700137000>', "Async": "true",
        })  # fmt: skip
        await _wait_until(lambda: any(m["Event"] == "AGIExecStart"
                                      and m.get("Command", "").startswith("GET DATA")
                                      for m in world[before:]), 15, "the menu did not start")  # fmt: skip
        await server.close()
        stopped = next(m["Linkedid"] for m in world[before:] if m["Event"] == "AGIExecStart")
        await _wait_until(lambda: bool(of(stopped, "QueueCallerJoin")), 15, "not queued")
        assert [m["Value"] for m in of(stopped, "VarSet", Variable="HOTLINE_ROUTE")] == ["fallback"]
        assert [m["Value"] for m in of(stopped, "VarSet", Variable="AGISTATUS")] == ["SUCCESS"]
        assert [m["Queue"] for m in of(stopped, "QueueCallerJoin")] == [general]
        # the hand-over cut the menu's GET DATA (5 s) at once
        asked = next(m for m in of(stopped, "AGIExecStart") if m["Command"].startswith("GET DATA"))
        joined = of(stopped, "QueueCallerJoin")[0]
        assert float(joined["Timestamp"]) - float(asked["Timestamp"]) < 3.0
    finally:
        with contextlib.suppress(Exception):
            await ami.send_action(Action("remove", general, member, "kf03").fields())
        await tester.close()
        await ami.close()
