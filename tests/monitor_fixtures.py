"""A supervisor's floor for live-monitoring tests: the sign-in, live counters and wallboard
fed from the simulator's AMI messages, and the messages that show a spy started."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cti_fixtures import add_users, sqlite_engine
from sqlalchemy import Engine

from callcenter.cti.feature import CtiFeature
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub
from callcenter.telephony.ami_events import translate


@dataclass
class MonitoredFloor:
    engine: Engine
    cti: CtiFeature
    live: LiveCounters
    hub: WallboardHub
    spies: list[dict[str, str]] = field(default_factory=list)  # ChanSpyStart
    originated: list[dict[str, str]] = field(default_factory=list)  # OriginateResponse

    @classmethod
    def build(cls, tmp_path: Path, *, push_delay_s: float = 0.1) -> MonitoredFloor:
        engine = sqlite_engine(tmp_path)
        cti = CtiFeature(engine)
        add_users(cti.accounts)
        live = LiveCounters(thresholds=Thresholds(line_capacity=90))
        return cls(engine, cti, live, WallboardHub(live, push_delay_s=push_delay_s))

    def on_message(self, message: dict[str, str]) -> None:
        """The AMI client's ``on_event``: what the service does with each message."""
        if message.get("Event") == "ChanSpyStart":
            self.spies.append(message)
        if message.get("Event") == "OriginateResponse":
            self.originated.append(message)
        event = translate(message, "sim")
        if event is not None:
            self.live.apply(event)
            self.hub.on_event(event)
