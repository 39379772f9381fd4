"""Small shift books and rosters for the routing tests, written as the YAML a user writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.core.events import QueueMemberChanged
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.directory import Agent, Directory, Seat, Zone
from callcenter.routing.roster import Roster
from callcenter.routing.roster_file import roster_from_mapping
from callcenter.routing.shifts import ShiftBook, shifts_from_mapping
from callcenter.routing.yamlio import parse_yaml
from callcenter.sim import PbxSimulator
from callcenter.sim.config import QueueConfig
from callcenter.telephony.ami import AmiClient
from callcenter.telephony.ami_events import translate

SHIFTS = """
timezone: {tz}
shifts:
  day:    {{start: "08:00", end: "20:00"}}
  mid:    {{start: "09:00", end: "21:00"}}
  night:  {{start: "20:00", end: "08:00"}}
  desk_a: {{start: "08:00", end: "16:30"}}
  desk_b: {{start: "15:30", end: "24:00"}}
  desk_c: {{start: "23:30", end: "08:00"}}
  early:
    start: "08:00"
    end: "16:30"
    breaks: [{{start: "12:00", end: "12:30", reason: lunch}}]
"""


def book(tz: str = "Asia/Shanghai") -> ShiftBook:
    return shifts_from_mapping(parse_yaml(SHIFTS.format(tz=tz), "shifts.yaml"), "shifts.yaml", tz)


def roster(text: str, tz: str = "Asia/Shanghai") -> Roster:
    return roster_from_mapping(parse_yaml(text, "roster.yaml"), "roster.yaml", book(tz))


def at(text: str, tz: str = "Asia/Shanghai") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


# One zone ("east") with its housekeeper gj01 at KEEPER, a zone assistant (both the zone's
# own, penalty 0 in its queue) and a hotline agent who helps there after the preference
# window (penalty 5): the housekeeper-first routing tests' small world.
KEEPER = "PJSIP/1030"


def east_zone_roster(anchor: str) -> str:
    return f"""
rotations:
  - {{name: keepers, team: housekeeper, anchor: {anchor}, pattern: [[early]], members: [gj01]}}
  - {{name: zone, team: zone, anchor: {anchor}, pattern: [[desk_a]], members: [zl01]}}
  - {{name: hotline, team: hotline, anchor: {anchor}, pattern: [[day]], members: [kf01]}}
"""


def east_zone(buildings: tuple[str, ...] = ("1", "2")) -> Directory:
    seats = {s: Seat(s, f"PJSIP/{s}") for s in ("1030", "1022", "1001")}
    agents = {
        "gj01": Agent("gj01", "曹琳", "1030", "housekeeper", {"zone-east": 0}),
        "zl01": Agent("zl01", "梁桂英", "1022", "zone", {"zone-east": 0}),
        "kf01": Agent("kf01", "王伟", "1001", "hotline", {"support": 0, "zone-east": 5}),
    }
    zones = {"east": Zone("east", "东区", "East", buildings, "gj01", "zone-east")}
    return Directory(seats, agents, zones)


async def ami_client(sim: PbxSimulator) -> AmiClient:
    """The service's AMI client, logged in to the simulator."""
    ami = AmiClient(
        "127.0.0.1", sim.ami_port, "callcenter", "callcenter",
        on_event=lambda _: None, backoff_initial=0.05, backoff_max=0.2,
    )  # fmt: skip
    await ami.start()
    return ami


def members_ready(states: AgentStates, queues: list[QueueConfig], at: float) -> None:
    """What the service's QueueStatus at login shows: every configured member free."""
    for queue in queues:
        for m in queue.members:
            states.apply(QueueMemberChanged(
                pbx="sim", call_id="", at=at, change="snapshot", queue=queue.name,
                interface=m.interface, member_name=m.name, status=1,
            ))  # fmt: skip


def agent_state_follower(
    states: AgentStates,
) -> tuple[list[dict[str, str]], Callable[[dict[str, str]], None]]:
    """The service's AMI -> agent states path for a simulator listener, and every message
    it saw."""
    seen: list[dict[str, str]] = []

    def follow(message: dict[str, str]) -> None:
        seen.append(message)
        event = translate(message, "sim", tz=ZoneInfo("Asia/Shanghai"))
        if event is not None:
            states.apply(event)

    return seen, follow
