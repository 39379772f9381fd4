"""Database tables for call records, their legs and the recovery cursor.

Times are epoch seconds as Asterisk stamps them (double precision), so a stored
record reads back exactly as the tracker produced it. Text columns have no length
limit: a long caller name must never make a record unwritable.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names keep hand-written migrations and the models in step.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CallRow(Base):
    """One call, keyed by (pbx, call_id); columns mirror `CallRecord` field for field."""

    __tablename__ = "calls"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    hotline: Mapped[str] = mapped_column(String)
    caller_number: Mapped[str] = mapped_column(String)
    caller_name: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Double)
    queue: Mapped[str] = mapped_column(String)
    queue_joined_at: Mapped[float | None] = mapped_column(Double)
    queue_left_at: Mapped[float | None] = mapped_column(Double)
    agent: Mapped[str] = mapped_column(String)
    agent_interface: Mapped[str] = mapped_column(String)
    ring_started_at: Mapped[float | None] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str] = mapped_column(String)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    wait_s: Mapped[float | None] = mapped_column(Double)
    talk_s: Mapped[float | None] = mapped_column(Double)
    ring_s: Mapped[float | None] = mapped_column(Double)
    ivr_s: Mapped[float | None] = mapped_column(Double)
    dtmf: Mapped[str] = mapped_column(String)
    recorded: Mapped[bool] = mapped_column(Boolean)
    origin: Mapped[str] = mapped_column(String)
    updated_at: Mapped[float] = mapped_column(Double)

    legs: Mapped[list[LegRow]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="LegRow.position",
    )

    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_outcome_started_at", "outcome", "started_at"),
        Index("ix_calls_queue_started_at", "queue", "started_at"),
        Index("ix_calls_agent_started_at", "agent", "started_at"),
        Index("ix_calls_caller_number", "caller_number"),
    )


class LegRow(Base):
    """One channel of a call; `position` keeps the tracker's order of legs."""

    __tablename__ = "call_legs"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str] = mapped_column(String, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    cause: Mapped[int | None] = mapped_column(Integer)

    call: Mapped[CallRow] = relationship(back_populates="legs")

    __table_args__ = (
        ForeignKeyConstraint(
            ["pbx", "call_id"], ["calls.pbx", "calls.call_id"], ondelete="CASCADE"
        ),
        # A recording named by a leg's Uniqueid is matched on channel_id alone.
        Index("ix_call_legs_channel_id", "channel_id"),
    )


class DurableOffsetRow(Base):
    """How far the service has read one of a PBX's durable records (queue_log, CDR).

    `identity` names the file that offset belongs to (inode and size, say), so a
    rotated file is noticed and read from the start.
    """

    __tablename__ = "durable_offsets"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(String, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger)
    identity: Mapped[str] = mapped_column(String)
    updated_at: Mapped[float] = mapped_column(Double)


calls_table = Base.metadata.tables["calls"]
legs_table = Base.metadata.tables["call_legs"]
offsets_table = Base.metadata.tables["durable_offsets"]
