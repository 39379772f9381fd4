"""Queue membership kept in line with the roster.

``plan(desired, current)`` (pure) lists the AMI actions that turn what QueueStatus shows
into what the roster wants, touching only the difference: a repeat plans nothing. It
unpauses only pauses it made itself (reason ``roster:...``); an agent's own pause stays.
Members configured in queues.conf are static and QueueRemove refuses them: those are
paused with ``roster:off-duty`` instead.

``MembershipSync`` is the adapter: it reads QueueStatus, applies the plan action by action,
and reports drift. If the AMI link drops halfway, the next sync reads the PBX again and
finishes the job; nothing is applied twice because every plan starts from what is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import structlog

from callcenter.core.events import Event, MembershipSynced, QueueMemberChanged, RosterDrift
from callcenter.core.tasks import cancel_and_wait
from callcenter.routing.directory import Directory
from callcenter.routing.duty import OnDuty, next_edge, on_duty
from callcenter.routing.roster import Roster
from callcenter.telephony.ami import AmiActionError, AmiError, Fields, Message
from callcenter.telephony.ami_events import translate_snapshot

log = structlog.get_logger(__name__)

REASON_PREFIX = "roster:"
OFF_DUTY = REASON_PREFIX + "off-duty"
UNREACHABLE_STATES = frozenset({4, 5})  # AST_DEVICE_INVALID, AST_DEVICE_UNAVAILABLE


@dataclass(frozen=True)
class Membership:
    queue: str
    interface: str
    name: str = ""
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    status: int = 0  # device state (current members only)

    @property
    def key(self) -> tuple[str, str]:
        return (self.queue, self.interface)


ActionKind = Literal["add", "remove", "pause", "unpause", "penalty"]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    queue: str
    interface: str
    name: str = ""
    penalty: int = 0
    reason: str = ""

    def fields(self) -> dict[str, str]:
        """The AMI action (app_queue's QueueAdd / QueueRemove / QueuePause / QueuePenalty)."""
        if self.kind == "add":
            out = {"Action": "QueueAdd", "Queue": self.queue, "Interface": self.interface}
            out.update({"MemberName": self.name, "Penalty": str(self.penalty)})
            if self.reason:
                out.update({"Paused": "true", "Reason": self.reason})
            return out
        if self.kind == "remove":
            return {"Action": "QueueRemove", "Queue": self.queue, "Interface": self.interface}
        if self.kind == "penalty":
            return {
                "Action": "QueuePenalty",
                "Queue": self.queue,
                "Interface": self.interface,
                "Penalty": str(self.penalty),
            }
        paused = "true" if self.kind == "pause" else "false"
        out = {"Action": "QueuePause", "Queue": self.queue, "Interface": self.interface}
        out.update({"Paused": paused, "Reason": self.reason})
        return out

    def describe(self) -> str:
        extra = f" ({self.reason})" if self.reason else ""
        return f"{self.kind} {self.queue} {self.interface}{extra}"


def desired_members(duty: Iterable[OnDuty], directory: Directory) -> list[Membership]:
    """Each on-duty agent with a seat, in each of their queues; paused during breaks."""
    out: list[Membership] = []
    for d in duty:
        agent = directory.agents.get(d.agent)
        interface = directory.interface_of(d.agent)
        if agent is None or not interface:
            continue
        for queue, penalty in sorted(agent.queues.items()):
            reason = REASON_PREFIX + d.on_break if d.on_break else ""
            out.append(Membership(queue, interface, agent.id, penalty, bool(reason), reason))
    return out


def plan(
    desired: Iterable[Membership],
    current: Iterable[Membership],
    managed_queues: Iterable[str],
    static: Iterable[tuple[str, str]] = (),
) -> list[Action]:
    """The actions that make ``current`` match ``desired`` in ``managed_queues``."""
    managed = set(managed_queues)
    fixed = set(static)
    now = {m.key: m for m in current if m.queue in managed}
    want = {m.key: m for m in desired if m.queue in managed}
    actions: list[Action] = []
    for key, d in want.items():
        c = now.get(key)
        if c is None:
            actions.append(Action("add", d.queue, d.interface, d.name, d.penalty, d.reason))
            continue
        if c.penalty != d.penalty:
            actions.append(Action("penalty", d.queue, d.interface, d.name, d.penalty))
        if (
            d.paused
            and (not c.paused or c.reason != d.reason)
            and (not c.paused or c.reason.startswith(REASON_PREFIX))
        ):
            actions.append(Action("pause", d.queue, d.interface, d.name, reason=d.reason))
        elif not d.paused and c.paused and c.reason.startswith(REASON_PREFIX):
            actions.append(Action("unpause", d.queue, d.interface, d.name))
    for key, c in now.items():
        if key in want:
            continue
        if key in fixed:
            if not c.paused:
                actions.append(Action("pause", c.queue, c.interface, c.name, reason=OFF_DUTY))
        else:
            actions.append(Action("remove", c.queue, c.interface, c.name))
    return actions


@dataclass(frozen=True)
class Drift:
    unrostered: tuple[str, ...] = ()  # "queue interface": logged in, not on duty
    missing: tuple[str, ...] = ()  # on duty, not a member
    unreachable: tuple[str, ...] = ()  # on duty, member, phone unreachable

    def __bool__(self) -> bool:
        return bool(self.unrostered or self.missing or self.unreachable)


def drift(
    desired: Iterable[Membership],
    current: Iterable[Membership],
    managed_queues: Iterable[str],
    static: Iterable[tuple[str, str]] = (),
) -> Drift:
    managed = set(managed_queues)
    fixed = set(static)
    now = {m.key: m for m in current if m.queue in managed}
    want = {m.key: m for m in desired if m.queue in managed}
    unrostered = [
        f"{q} {i}" for (q, i), c in now.items()
        if (q, i) not in want and not ((q, i) in fixed and c.reason == OFF_DUTY)
    ]  # fmt: skip
    missing = [f"{q} {i}" for (q, i) in want if (q, i) not in now]
    unreachable = [
        f"{q} {i}" for (q, i) in want if (q, i) in now and now[(q, i)].status in UNREACHABLE_STATES
    ]
    return Drift(tuple(sorted(unrostered)), tuple(sorted(missing)), tuple(sorted(unreachable)))


def members_from_status(rows: Sequence[Message], pbx: str, at: float) -> list[Membership]:
    """QueueStatus reply rows -> current members (through the telephony translation)."""
    out: list[Membership] = []
    for row in rows:
        event = translate_snapshot(row, pbx, at)
        if isinstance(event, QueueMemberChanged):
            out.append(
                Membership(
                    event.queue,
                    event.interface,
                    event.member_name,
                    event.penalty,
                    event.paused,
                    event.paused_reason,
                    event.status,
                )
            )
    return out


# --- adapter --------------------------------------------------------------------------------


class AmiLike(Protocol):
    async def send_action(self, fields: Fields, timeout: float | None = None) -> Message: ...

    async def send_list_action(
        self, fields: Fields, timeout: float | None = None
    ) -> list[Message]: ...


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, when: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.time()))


class ScaledClock:
    """A clock running ``speed`` times faster than real time (the simulator's)."""

    def __init__(self, now: Callable[[], float], speed: float) -> None:
        self._now = now
        self.speed = speed

    def now(self) -> float:
        return self._now()

    async def sleep_until(self, when: float) -> None:
        while (left := when - self._now()) > 0:
            await asyncio.sleep(min(left / self.speed, 1.0))


@dataclass
class SyncReport:
    at: float
    applied: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    drift: Drift = field(default_factory=Drift)
    complete: bool = True


class MembershipSync:
    """Keeps one PBX's queue membership in line with the roster. ``run()`` syncs at every
    shift or break edge (and every ``resync_interval_s``); ``poke()`` asks for a sync now
    (after an AMI reconnect, or when the roster or directory changed)."""

    def __init__(
        self,
        ami: AmiLike,
        directory: Directory,
        roster: Roster,
        clock: Clock | None = None,
        *,
        pbx: str = "main",
        managed_queues: Iterable[str] | None = None,
        publish: Callable[[Event], None] | None = None,
        resync_interval_s: float = 300.0,
        retry_s: float = 5.0,
    ) -> None:
        self.ami = ami
        self.directory = directory
        self.roster = roster
        self.clock: Clock = clock or SystemClock()
        self.pbx = pbx
        self._managed = set(managed_queues) if managed_queues is not None else None
        self.publish = publish
        self.resync_interval_s = resync_interval_s
        self.retry_s = retry_s
        self.static: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        self.last_report: SyncReport | None = None

    @property
    def managed_queues(self) -> set[str]:
        return self._managed if self._managed is not None else self.directory.queues()

    def update(self, directory: Directory | None = None, roster: Roster | None = None) -> None:
        if directory is not None:
            self.directory = directory
        if roster is not None:
            self.roster = roster
        self.poke()

    def poke(self) -> None:
        self._wake.set()

    async def read_current(self) -> list[Membership]:
        rows = await self.ami.send_list_action({"Action": "QueueStatus"})
        return members_from_status(rows, self.pbx, self.clock.now())

    async def sync_now(self) -> SyncReport:
        at = self.clock.now()
        report = SyncReport(at)
        desired = desired_members(on_duty(self.roster, at), self.directory)
        try:
            current = await self.read_current()
        except AmiError as exc:
            report.complete = False
            log.warning("membership_sync_unreadable", pbx=self.pbx, error=str(exc))
            return self._finish(report)
        for action in plan(desired, current, self.managed_queues, self.static):
            if not await self._apply(action, report):
                report.complete = False
                break
        report.drift = drift(desired, current, self.managed_queues, self.static)
        return self._finish(report)

    async def _apply(self, action: Action, report: SyncReport) -> bool:
        """Send one action; False when the link is gone (stop, the next sync resumes)."""
        try:
            await self.ami.send_action(action.fields())
        except AmiActionError as exc:
            message = exc.reply.get("Message", "")
            if action.kind == "remove" and "not dynamic" in message.lower():
                # queues.conf member: it cannot leave, so it stops taking calls instead.
                self.static.add((action.queue, action.interface))
                fallback = Action(
                    "pause", action.queue, action.interface, action.name, reason=OFF_DUTY
                )
                return await self._apply(fallback, report)
            if action.kind == "add" and "already there" in message.lower():
                report.applied.append(action)  # a lost reply earlier: it is done
                return True
            report.failed.append((action, message))
            return True
        except AmiError as exc:
            report.failed.append((action, str(exc)))
            return False
        report.applied.append(action)
        return True

    def _finish(self, report: SyncReport) -> SyncReport:
        self.last_report = report
        log.info(
            "membership_synced",
            pbx=self.pbx,
            applied=len(report.applied),
            failed=len(report.failed),
            complete=report.complete,
        )
        if self.publish is not None:
            if report.applied or report.failed or not report.complete:
                self.publish(
                    MembershipSynced(
                        pbx=self.pbx,
                        call_id="",
                        at=report.at,
                        applied=tuple(a.describe() for a in report.applied),
                        failed=tuple(f"{a.describe()}: {why}" for a, why in report.failed),
                        complete=report.complete,
                    )
                )
            if report.drift:
                self.publish(
                    RosterDrift(
                        pbx=self.pbx,
                        call_id="",
                        at=report.at,
                        unrostered=report.drift.unrostered,
                        missing=report.drift.missing,
                        unreachable=report.drift.unreachable,
                    )
                )
        return report

    def next_wake(self, now: float, complete: bool) -> float:
        if not complete:
            return now + self.retry_s
        edge = next_edge(self.roster, now)
        limit = now + self.resync_interval_s
        return limit if edge is None else min(edge, limit)

    async def run(self) -> None:
        """Sync now, then at every edge; runs until cancelled."""
        while True:
            self._wake.clear()
            try:
                report = await self.sync_now()
                complete = report.complete
            except Exception:  # one bad sync must not end the loop
                log.exception("membership_sync_failed", pbx=self.pbx)
                complete = False
            wake_at = self.next_wake(self.clock.now(), complete)
            sleeper = asyncio.ensure_future(self.clock.sleep_until(wake_at))
            poked = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, poked}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, poked):
                    await cancel_and_wait(task)
