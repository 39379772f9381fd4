"""Tables of the CTI feature: users and their sessions, API tokens, owners (units, phones,
zones, numbers linked by agents), work orders with their history, callbacks with their
attempts, call dispositions and the owner-record audit trail.

Session ids are stored as their SHA-256 digest: someone who reads the table cannot sign in
with what they read. Times are epoch seconds (double precision), like the call tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db.base import Base


class UserRow(Base):
    __tablename__ = "cti_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String)
    display_name: Mapped[str] = mapped_column(String, default="")
    agent: Mapped[str] = mapped_column(String, default="")
    interface: Mapped[str] = mapped_column(String, default="")
    password_hash: Mapped[str] = mapped_column(String)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Double)


class SessionRow(Base):
    __tablename__ = "cti_sessions"

    id_digest: Mapped[str] = mapped_column(String, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("cti_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String)
    created_at: Mapped[float] = mapped_column(Double)
    last_seen_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_cti_sessions_expires_at", "expires_at"),)


class ApiTokenRow(Base):
    """A service account another system signs in with: only the token's SHA-256 digest
    is kept, the token itself is shown once when it is made."""

    __tablename__ = "cti_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String)
    scopes: Mapped[str] = mapped_column(String)  # space-separated: "read write"
    digest: Mapped[str] = mapped_column(String, unique=True)
    hint: Mapped[str] = mapped_column(String)  # the token's first characters, to tell them apart
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_used_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class ZoneRow(Base):
    __tablename__ = "cti_zones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    housekeeper: Mapped[str] = mapped_column(String, default="")


class OwnerRow(Base):
    """An owner; ``code`` is the business system's owner number, the key re-imports match."""

    __tablename__ = "cti_owners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("cti_zones.id"), nullable=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    arrears_cents: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Double)


class UnitRow(Base):
    __tablename__ = "cti_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("cti_owners.id", ondelete="CASCADE"))
    building: Mapped[str] = mapped_column(String)
    unit: Mapped[str] = mapped_column(String, default="")
    room: Mapped[str] = mapped_column(String)

    __table_args__ = (UniqueConstraint("owner_id", "building", "unit", "room"),)


class PhoneRow(Base):
    """One number of an owner: ``number_key`` is the canonical form lookups use."""

    __tablename__ = "cti_phones"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("cti_owners.id", ondelete="CASCADE"), primary_key=True
    )
    number_key: Mapped[str] = mapped_column(String, primary_key=True)
    extension: Mapped[str] = mapped_column(String, default="")
    raw: Mapped[str] = mapped_column(String, default="")

    __table_args__ = (Index("ix_cti_phones_number_key", "number_key"),)


class WorkOrderRow(Base):
    __tablename__ = "cti_work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("cti_owners.id"), nullable=True)
    caller_number: Mapped[str] = mapped_column(String, default="")
    pbx: Mapped[str] = mapped_column(String, default="")
    call_id: Mapped[str] = mapped_column(String, default="")
    kind: Mapped[str] = mapped_column(String)
    category: Mapped[str] = mapped_column(String, default="")
    priority: Mapped[str] = mapped_column(String)
    department: Mapped[str] = mapped_column(String, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String)
    created_by: Mapped[str] = mapped_column(String)
    assignee: Mapped[str] = mapped_column(String, default="")
    due_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    callback_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        Index("ix_cti_work_orders_owner_id", "owner_id"),
        Index("ix_cti_work_orders_created_by", "created_by"),
        Index("ix_cti_work_orders_state_due_at", "state", "due_at"),
    )


class WorkOrderHistoryRow(Base):
    __tablename__ = "cti_work_order_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("cti_work_orders.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    from_state: Mapped[str] = mapped_column(String)
    to_state: Mapped[str] = mapped_column(String)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_cti_work_order_history_work_order_id", "work_order_id"),)


class DispositionRow(Base):
    """What the agent recorded about a call at hangup."""

    __tablename__ = "cti_dispositions"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str] = mapped_column(String, primary_key=True)
    user_login: Mapped[str] = mapped_column(String, primary_key=True)
    disposition: Mapped[str] = mapped_column(String)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[float] = mapped_column(Double)


class AuditRow(Base):
    """Who opened which owner record (and other reads worth answering for)."""

    __tablename__ = "cti_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Double)
    user_login: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_cti_audit_owner_id_at", "owner_id", "at"),
        Index("ix_cti_audit_user_login_at", "user_login", "at"),
    )


class CallbackRow(Base):
    """A callback (回电) or satisfaction follow-up (回访) promised to an owner."""

    __tablename__ = "cti_callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)
    number: Mapped[str] = mapped_column(String)
    due_at: Mapped[float] = mapped_column(Double)
    assignee: Mapped[str] = mapped_column(String)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pbx: Mapped[str] = mapped_column(String, default="")
    call_id: Mapped[str] = mapped_column(String, default="")
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("cti_work_orders.id", ondelete="CASCADE"), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_result: Mapped[str] = mapped_column(String, default="")
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dial_pbx: Mapped[str] = mapped_column(String, default="")
    dial_call_id: Mapped[str] = mapped_column(String, default="")

    __table_args__ = (
        Index("ix_cti_callbacks_state_due_at", "state", "due_at"),
        Index("ix_cti_callbacks_assignee_state", "assignee", "state"),
        Index("ix_cti_callbacks_pbx_call_id", "pbx", "call_id"),
    )


class CallbackAttemptRow(Base):
    """One try at a callback and its result."""

    __tablename__ = "cti_callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("cti_callbacks.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String)
    result: Mapped[str] = mapped_column(String)
    note: Mapped[str] = mapped_column(Text, default="")
    retry_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pbx: Mapped[str] = mapped_column(String, default="")
    call_id: Mapped[str] = mapped_column(String, default="")

    __table_args__ = (
        Index("ix_cti_callback_attempts_callback_id", "callback_id"),
        Index("ix_cti_callback_attempts_pbx_call_id", "pbx", "call_id"),
    )


class NumberLinkRow(Base):
    """A number an agent linked to an owner (an unknown caller who said who they are).
    Kept apart from the imported phones, so a re-import of the owner keeps it."""

    __tablename__ = "cti_number_links"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("cti_owners.id", ondelete="CASCADE"), primary_key=True
    )
    number_key: Mapped[str] = mapped_column(String, primary_key=True)
    linked_by: Mapped[str] = mapped_column(String)
    linked_at: Mapped[float] = mapped_column(Double)
    pbx: Mapped[str] = mapped_column(String, default="")
    call_id: Mapped[str] = mapped_column(String, default="")

    __table_args__ = (Index("ix_cti_number_links_number_key", "number_key"),)


users_table = Base.metadata.tables["cti_users"]
sessions_table = Base.metadata.tables["cti_sessions"]
api_tokens_table = Base.metadata.tables["cti_api_tokens"]
zones_table = Base.metadata.tables["cti_zones"]
owners_table = Base.metadata.tables["cti_owners"]
units_table = Base.metadata.tables["cti_units"]
phones_table = Base.metadata.tables["cti_phones"]
work_orders_table = Base.metadata.tables["cti_work_orders"]
history_table = Base.metadata.tables["cti_work_order_history"]
dispositions_table = Base.metadata.tables["cti_dispositions"]
audit_table = Base.metadata.tables["cti_audit"]
callbacks_table = Base.metadata.tables["cti_callbacks"]
attempts_table = Base.metadata.tables["cti_callback_attempts"]
number_links_table = Base.metadata.tables["cti_number_links"]
