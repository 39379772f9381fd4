"""Tables for report rollups: per 15-minute bucket KPI sums and line usage.

They are a cache of the calls table, never a source of truth: ``ReportStore`` rebuilds a
bucket from the raw calls whenever a call starting (or holding a line) in it is written,
so a rollup always equals a recomputation from the raw records. ``metrics_rollup_state``
holds the thresholds the rollups were computed with; a report asking for other
thresholds reads the raw calls instead.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.store.models import Base


class CallIntervalRollupRow(Base):
    """KPI sums of the calls starting in one bucket, overall (dim "") or per queue,
    hotline or agent."""

    __tablename__ = "call_interval_rollups"

    # dim first: a report reads one dimension over a range of buckets, one index range.
    dim: Mapped[str] = mapped_column(String, primary_key=True)  # "", queue, hotline, agent
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch s, multiple of 900
    key: Mapped[str] = mapped_column(String, primary_key=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandons: Mapped[int] = mapped_column(Integer)
    voicemail: Mapped[int] = mapped_column(Integer)
    answered_in_sl: Mapped[int] = mapped_column(Integer)
    ivr_only: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)
    wait_answered_s: Mapped[float] = mapped_column(Double)
    wait_total_s: Mapped[float] = mapped_column(Double)
    handle_s: Mapped[float] = mapped_column(Double)
    longest_wait_s: Mapped[float] = mapped_column(Double)


class LineIntervalRollupRow(Base):
    """Line usage in one bucket: peak, seconds at or above the high level and at capacity."""

    __tablename__ = "line_interval_rollups"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    peak: Mapped[int] = mapped_column(Integer)
    seconds_high: Mapped[float] = mapped_column(Double)
    seconds_full: Mapped[float] = mapped_column(Double)
    blocked: Mapped[int] = mapped_column(Integer)


class RollupStateRow(Base):
    """One row: the thresholds behind the rollups and the longest call seen (how far back
    a bucket's line usage must look for calls still up)."""

    __tablename__ = "metrics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thresholds: Mapped[str] = mapped_column(Text)  # JSON of the Thresholds used
    longest_call_s: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


rollups_table = Base.metadata.tables["call_interval_rollups"]
line_rollups_table = Base.metadata.tables["line_interval_rollups"]
rollup_state_table = Base.metadata.tables["metrics_rollup_state"]
