"""API tokens: service accounts other systems (a CRM, a BI tool) call the API with.

A token is ``cct_`` + 32 random bytes, shown once when it is made; the database keeps its
SHA-256 digest (as sessions are kept: the token has full entropy, so a fast digest is as
safe as a slow hash and costs nothing per request). A presented token is found by its
digest and compared again in constant time. A token carries a role (what a user of that
role may do) and scopes: ``read`` admits GET/HEAD, ``write`` admits changes. A revoked or
expired token is refused like an unknown one. Every use is audited, at most once per
token and route per ``AUDIT_EVERY_S`` (``TokenAudit``), so a busy integration does not
write a row per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select, update

from callcenter.cti.store import api_tokens_table
from callcenter.db.rows import Repository, insert_if_new, record_from_row
from callcenter.web.security import ROLES, Role, User

TOKEN_PREFIX = "cct_"
SCOPES = ("read", "write")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUDIT_EVERY_S = 60.0
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class TokenError(ValueError):
    """A token cannot be made or changed; the message says why."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    role: Role
    scopes: tuple[str, ...]
    hint: str
    created_by: str
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None

    def live(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def admits(self, method: str) -> bool:
        """Whether the token's scopes cover a request with this method."""
        return ("read" if method.upper() in READ_METHODS else "write") in self.scopes

    def as_user(self) -> User:
        """The caller as the routes' role checks see it: no seat and no agent name, so
        an agent-role token reads no agent's own calls or recordings."""
        return User(id=-self.id, login=f"token:{self.name}", role=self.role, display_name=self.name)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "scopes": list(self.scopes),
            "hint": self.hint,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


def check_token_fields(name: str, role: str, scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in their usual order; raises TokenError naming what is wrong."""
    if not _NAME.match(name):
        raise TokenError("a token name is 1-64 letters, digits or . _ -")
    if role not in ROLES:
        raise TokenError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown:
        raise TokenError(f"unknown scope(s) {sorted(unknown)}; known: {', '.join(SCOPES)}")
    if not wanted:
        raise TokenError("a token needs at least one scope")
    return tuple(s for s in SCOPES if s in wanted)


@dataclass
class TokenAudit:
    """Which uses to write down: the first of each (token, method, route) per interval."""

    every_s: float = AUDIT_EVERY_S
    _last: dict[tuple[int, str, str], float] = field(default_factory=dict)

    def due(self, token_id: int, method: str, route: str, now: float) -> bool:
        key = (token_id, method, route)
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            return False
        if len(self._last) > 10_000:  # forget old keys rather than grow without end
            self._last = {k: t for k, t in self._last.items() if now - t < self.every_s}
        self._last[key] = now
        return True


def _token(row: Row[Any]) -> ApiToken:
    return record_from_row(ApiToken, row._mapping, scopes=tuple(row.scopes.split()))


class TokenStore(Repository):
    """API tokens in the database. Every method is one short transaction."""

    TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often

    def create(
        self,
        name: str,
        role: str,
        scopes: Iterable[str] = ("read",),
        *,
        created_by: str,
        lifetime_s: float | None = None,
    ) -> tuple[str, ApiToken]:
        """A new token: returns the token itself (to show once) and what is kept of it."""
        ordered = check_token_fields(name, role, scopes)
        if lifetime_s is not None and lifetime_s <= 0:
            raise TokenError("the lifetime must be positive")
        token = new_token()
        now = self.clock()
        values = dict(
            name=name,
            role=role,
            scopes=" ".join(ordered),
            digest=token_digest(token),
            hint=token[: len(TOKEN_PREFIX) + 4],
            created_by=created_by,
            created_at=now,
            expires_at=None if lifetime_s is None else now + lifetime_s,
        )
        with self.engine.begin() as connection:
            row = insert_if_new(connection, api_tokens_table, "name", values)
        if row is None:
            raise TokenError(f"a token named {name!r} exists already")
        return token, _token(row)

    def find(self, name: str) -> ApiToken | None:
        return self._one(api_tokens_table.c.name == name)

    def find_id(self, token_id: int) -> ApiToken | None:
        return self._one(api_tokens_table.c.id == token_id)

    def _one(self, where: Any) -> ApiToken | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(api_tokens_table).where(where)).first()
        return None if row is None else _token(row)

    def list(self) -> list[ApiToken]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(api_tokens_table).order_by(api_tokens_table.c.name)
            ).all()
        return [_token(row) for row in rows]

    def revoke(self, name_or_id: str | int) -> ApiToken:
        """Revoke by id (an int) or by name (a str; a name of digits that no token has is
        tried as an id, as the command's argument may be either)."""
        found = (
            self.find_id(name_or_id)
            if isinstance(name_or_id, int)
            else self.find(name_or_id)
            or (self.find_id(int(name_or_id)) if name_or_id.isdigit() else None)
        )
        if found is None:
            raise TokenError(f"no token {name_or_id!r}")
        if found.revoked_at is None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(api_tokens_table)
                    .where(api_tokens_table.c.id == found.id)
                    .values(revoked_at=self.clock())
                )
        revoked = self.find_id(found.id)
        assert revoked is not None
        return revoked

    def authenticate(self, token: str) -> ApiToken | None:
        """The live token ``token`` names; None for an unknown, revoked or expired one."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = token_digest(token)
        query = select(api_tokens_table).where(api_tokens_table.c.digest == digest)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or not hmac.compare_digest(row.digest, digest):
            return None
        found = _token(row)
        now = self.clock()
        if not found.live(now):
            return None
        if found.last_used_at is None or now - found.last_used_at >= self.TOUCH_EVERY_S:
            with self.engine.begin() as connection:
                connection.execute(
                    update(api_tokens_table)
                    .where(api_tokens_table.c.id == found.id)
                    .values(last_used_at=now)
                )
        return found
