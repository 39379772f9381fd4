"""Live staffing alerts: the watch that feeds ``LiveStaffingMonitor`` and a webhook sender.

The webhook posts JSON signed as ``callcenter.core.signing`` says, so a receiver can reject
forged or replayed calls. Failed posts (connection errors, 5xx, 429, 3xx) are retried with
exponential backoff by ``callcenter.core.webhook``; other 4xx answers are final.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from callcenter.core.events import Event, StaffingBelowMinimum
from callcenter.core.webhook import JsonWebhook, RetryPolicy, SignedPost
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.directory import Directory
from callcenter.routing.staffing import LiveStaffingMonitor, MinimumRule, StaffingChange
from callcenter.routing.sync import Clock, SystemClock

log = structlog.get_logger(__name__)

WORKING = frozenset({"ready", "ringing", "on_call", "wrap_up"})


def redirects_too(status: int) -> bool:
    """An alert is retried on anything but a final 4xx (3xx too: a moved receiver may be
    put back)."""
    return not (400 <= status < 500 and status != 429)


def alert_webhook(
    url: str, secret: str, *, attempts: int = 5, initial_backoff_s: float = 0.5
) -> JsonWebhook:
    """The staffing alerts' receiver: a few quick retries, as an alert is only news for a while."""
    policy = RetryPolicy(attempts, initial_backoff_s, 30.0, redirects_too)
    return JsonWebhook(SignedPost(url, secret, policy), timeout_s=5.0)


def ready_by_team(states: AgentStates, directory: Directory) -> dict[str, int]:
    """Seats logged in and working (not paused, phone reachable), per team."""
    counts: dict[str, int] = {}
    for status in states.agents.values():
        if status.state not in WORKING:
            continue
        agent = directory.agents.get(status.agent) or directory.agent_by_interface(status.interface)
        team = agent.team if agent else ""
        counts[team] = counts.get(team, 0) + 1
    return counts


def alert_payload(
    change: StaffingChange, pbx: str, rule: MinimumRule | None = None
) -> dict[str, Any]:
    """The webhook's body; the text names the rule as people call it when it is known."""
    zh_rule = rule.title("zh") if rule else f"规则 {change.rule}"
    en_rule = rule.title("en") if rule else f"rule {change.rule}"
    if change.below:
        zh = f"人手不足: {zh_rule} 需要至少 {change.need} 个坐席在线，当前 {change.have} 个"
        en = f"Understaffed: {en_rule} needs {change.need} seats online, {change.have} now"
    else:
        zh = f"人手已恢复: {zh_rule} 当前 {change.have} 个坐席在线"
        en = f"Staffing restored: {en_rule} has {change.have} seats online"
    return {
        "type": "staffing_below_minimum" if change.below else "staffing_restored",
        "pbx": pbx,
        "rule": change.rule,
        "have": change.have,
        "need": change.need,
        "at": change.at,
        "message": {"zh": zh, "en": en},
    }


class StaffingWatch:
    """Every ``interval_s`` compares the seats working with the rules: one event (and one
    webhook) when a rule falls below its minimum, one when it is met again; while below,
    an event (no webhook) whenever the count of seats working moves."""

    def __init__(
        self,
        monitor: LiveStaffingMonitor,
        counts: Callable[[], Mapping[str, int]],
        *,
        publish: Callable[[Event], None] | None = None,
        webhook: JsonWebhook | None = None,
        clock: Clock | None = None,
        interval_s: float = 30.0,
        pbx: str = "",
    ) -> None:
        self.monitor = monitor
        self.counts = counts
        self.publish = publish
        self.webhook = webhook
        self.clock: Clock = clock or SystemClock()
        self.interval_s = interval_s
        self.pbx = pbx

    async def check_now(self) -> list[StaffingChange]:
        at = self.clock.now()
        changes = self.monitor.observe(at, self.counts())
        rules = {rule.name: rule for rule in self.monitor.rules}
        for change in changes:
            if not change.again:
                log.warning("staffing_change", rule=change.rule, below=change.below,
                            have=change.have)  # fmt: skip
            rule = rules.get(change.rule)
            if self.publish is not None:
                self.publish(
                    StaffingBelowMinimum(
                        pbx=self.pbx, call_id="", at=at, rule=change.rule,
                        have=change.have, need=change.need, below=change.below,
                        title_zh=rule.title("zh") if rule else change.rule,
                        title_en=rule.title("en") if rule else change.rule,
                    )
                )  # fmt: skip
            if self.webhook is not None and not change.again:
                await self.webhook.send(alert_payload(change, self.pbx, rule))
        return changes

    async def run(self) -> None:
        while True:
            try:
                await self.check_now()
            except Exception:
                log.exception("staffing_check_failed")
            await self.clock.sleep_until(self.clock.now() + self.interval_s)
