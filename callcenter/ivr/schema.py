"""IVR flow schema: the node kinds of ``ivr_flows/*.yaml`` as frozen dataclasses.

A flow is a named graph of nodes. Nodes that wait for the caller (menu, collect, survey)
or for the PBX (lookup of the owner, queue, dial) suspend the engine; the others (play,
set, branch, goto) run straight through. Queue, dial, voicemail and hangup end the IVR
part of a call; a queue or dial may continue (``after``) once the agent hangs up, which
is how the satisfaction survey is reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

LANGUAGES = ("zh", "en")  # Chinese first: the default language of every flow
SayAs = Literal["number", "digits"]


@dataclass(frozen=True, slots=True)
class Mark:
    """Where something was written: 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Node:
    id: str


@dataclass(frozen=True, slots=True)
class Play(Node):
    prompt: tuple[str, ...]
    next: str
    say: str = ""  # a variable read back after the prompts
    say_as: SayAs = "number"
    after_say: tuple[str, ...] = ()  # prompts after the variable ("元")


@dataclass(frozen=True, slots=True)
class Menu(Node):
    prompt: tuple[str, ...]
    options: Mapping[str, str]  # digit -> node id
    on_timeout: str
    on_invalid: str
    timeout_s: float = 5.0
    retries: int = 2  # the prompt is repeated this many times before giving up
    invalid_prompt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Collect(Node):
    prompt: tuple[str, ...]
    into: str
    next: str
    on_fail: str
    min_digits: int = 1
    max_digits: int = 10
    terminator: str = "#"
    pattern: str = ""  # a regular expression the whole input must match
    timeout_s: float = 6.0
    retries: int = 2
    invalid_prompt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup(Node):
    """``what: owner`` asks the CTI lookup for the caller's number; ``what: balance``
    reads the balance of the unit in variable ``unit`` from the owner already found."""

    found: str
    not_found: str
    what: Literal["owner", "balance"] = "owner"
    vip: str = ""
    arrears: str = ""
    housekeeper: str = ""
    unit: str = "unit"
    into: str = "balance"


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of a branch. Exactly one of the kinds is set."""

    open: str = ""  # inside the schedule's hours (and not a closed holiday)
    holiday: bool | None = None  # today is a public holiday in China
    var: str = ""  # with equals / matches / empty
    equals: str | None = None
    matches: str = ""
    owner: str = ""  # owner attribute: found, vip, arrears, housekeeper, zone, language
    language: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    when: Condition
    goto: str


@dataclass(frozen=True, slots=True)
class Branch(Node):
    cases: tuple[Case, ...]
    otherwise: str


@dataclass(frozen=True, slots=True)
class Queue(Node):
    queue: str
    priority: int = 0
    max_wait_s: float = 120.0
    announce_position: bool = False
    overflow: str = ""  # where a caller goes when the queue times out ("" ends the call)
    after: str = ""  # where the caller goes when the agent hangs up first (e.g. survey)
    prompt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dial(Node):
    to: str  # "housekeeper" or an interface such as PJSIP/1001
    fallback: str
    ring_timeout_s: float = 20.0
    after: str = ""
    prompt: tuple[str, ...] = ()
    # housekeeper: where a caller goes when routing's queue (the zone's) timed out;
    # "" continues at ``fallback``
    overflow: str = ""


@dataclass(frozen=True, slots=True)
class Voicemail(Node):
    mailbox: str = "100@default"
    callback: bool = True  # raise a callback work order
    reason: str = ""
    prompt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Survey(Node):
    prompt: tuple[str, ...]
    next: str
    into: str = "satisfaction"
    timeout_s: float = 5.0
    retries: int = 1
    invalid_prompt: tuple[str, ...] = ()
    thanks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetVars(Node):
    next: str
    values: Mapping[str, str] = field(default_factory=dict)
    language: str = ""


@dataclass(frozen=True, slots=True)
class Goto(Node):
    flow: str
    node: str = ""  # "" is the other flow's start


@dataclass(frozen=True, slots=True)
class Hangup(Node):
    prompt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening hours: ``days`` (0 = Monday), ``start``/``end`` minutes after midnight
    (end <= start crosses midnight), and whether China's public holidays are closed."""

    name: str
    days: frozenset[int]
    start_min: int
    end_min: int
    closed_on_holidays: bool = True


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    start: str
    nodes: Mapping[str, Node]
    languages: tuple[str, ...] = LANGUAGES
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    description: str = ""
    file: str = ""
    marks: Mapping[tuple[str, ...], Mark] = field(default_factory=dict, compare=False)

    def mark(self, *path: str) -> Mark:
        """The closest recorded position of ``nodes.<id>.<key>`` (or a prefix of it)."""
        key = tuple(path)
        while key:
            if key in self.marks:
                return self.marks[key]
            key = key[:-1]
        return self.marks.get((), Mark(1, 1))


KIND_BY_NAME: dict[str, type[Node]] = {
    "play": Play,
    "menu": Menu,
    "collect": Collect,
    "lookup": Lookup,
    "branch": Branch,
    "queue": Queue,
    "dial": Dial,
    "voicemail": Voicemail,
    "survey": Survey,
    "set": SetVars,
    "goto": Goto,
    "hangup": Hangup,
}
TERMINAL = (Queue, Dial, Voicemail, Hangup)  # the IVR part of a call ends here
WAITS_FOR_CALLER = (Menu, Collect, Survey)


def targets(node: Node) -> dict[str, str]:
    """Every node id this node can continue to, by the key that names it."""
    out: dict[str, str] = {}
    if isinstance(node, Play | Collect | Survey | SetVars):
        out["next"] = node.next
    if isinstance(node, Menu):
        out.update({f"options.{d}": t for d, t in node.options.items()})
        out["on_timeout"], out["on_invalid"] = node.on_timeout, node.on_invalid
    if isinstance(node, Collect):
        out["on_fail"] = node.on_fail
    if isinstance(node, Lookup):
        for key in ("found", "not_found", "vip", "arrears", "housekeeper"):
            if getattr(node, key):
                out[key] = getattr(node, key)
    if isinstance(node, Branch):
        out.update({f"cases.{i}": c.goto for i, c in enumerate(node.cases)})
        out["otherwise"] = node.otherwise
    if isinstance(node, Queue | Dial):
        for key in ("overflow", "after", "fallback"):
            if getattr(node, key, ""):
                out[key] = getattr(node, key)
    return out


def default_targets(node: Node) -> dict[str, str]:
    """Where a caller who presses nothing (and whose lookups find nothing) goes next."""
    if isinstance(node, Menu):
        return {"on_timeout": node.on_timeout}
    if isinstance(node, Collect):
        return {"on_fail": node.on_fail}
    if isinstance(node, Lookup):
        return {"not_found": node.not_found}
    if isinstance(node, Branch):
        return targets(node)  # any case may hold at some time of day
    if isinstance(node, Queue | Dial):
        # "after" needs an agent to answer first: not a path taken by doing nothing
        return {k: v for k, v in targets(node).items() if k in ("overflow", "fallback")}
    return targets(node)


def prompts_of(node: Node) -> dict[str, tuple[str, ...]]:
    """Prompt ids a node plays, by key."""
    out: dict[str, tuple[str, ...]] = {}
    for key in ("prompt", "invalid_prompt", "thanks", "after_say"):
        value = getattr(node, key, ())
        if value:
            out[key] = value
    return out
