"""Users, password hashes and server-side sessions.

Passwords are hashed with scrypt (N=2**15, r=8, p=1: about 32 MiB and tens of
milliseconds per attempt) and a random 16-byte salt per hash; the stored form names its
parameters, so they can be raised later without breaking old hashes. Session ids are 32
random bytes handed to the browser once; the database keeps only their SHA-256 digest.
The hashing is pure; the store is a thin SQLAlchemy adapter. Sign-in throttling is in
``login_throttle``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from callcenter.cti.store import sessions_table, users_table
from callcenter.db.rows import Repository, insert_if_new, record_from_row
from callcenter.web.security import ROLES, User

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
_LOGIN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user cannot be created or changed; the message says why."""


# --- passwords --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * n * r + 2**20
    )


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """``scrypt$N$r$p$salt$digest`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for a malformed one."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH: list[str] = []


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes, so an unknown login answers no faster than a known one."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    verify_password(password, _DUMMY_HASH[0])


def default_agent_name(interface: str) -> str:
    """The queue member name of a seat's user when none is given: ``Agent 1001`` for
    ``PJSIP/1001`` (what the dialplan and queues.conf call them)."""
    return f"Agent {interface.split('/')[-1]}" if interface else ""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


# --- stores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    created_at: float
    expires_at: float


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _user(row: Row[Any]) -> User:
    return record_from_row(User, row._mapping)


class AccountStore(Repository):
    """Users and sessions in the database. Every method is one short transaction."""

    # A session's last_seen_at is written at most this often (not on every request).
    TOUCH_EVERY_S = 60.0

    # users
    def add_user(
        self,
        login: str,
        role: str,
        password: str,
        *,
        display_name: str = "",
        agent: str = "",
        interface: str = "",
        password_hash: str | None = None,
    ) -> User:
        if not _LOGIN.match(login):
            raise AccountError("a login is 1-64 letters, digits or . _ @ -")
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
        if password_hash is None:
            check_new_password(password)
            password_hash = hash_password(password)
        values = dict(
            login=login,
            role=role,
            display_name=display_name,
            agent=agent,
            interface=interface,
            password_hash=password_hash,
            active=True,
            created_at=self.clock(),
        )
        with self.engine.begin() as connection:
            row = insert_if_new(connection, users_table, "login", values)
        if row is None:
            raise AccountError(f"the user {login!r} exists already")
        return _user(row)

    def find_user(self, login: str) -> tuple[User, str] | None:
        """The active user and their password hash."""
        query = select(users_table).where(
            users_table.c.login == login, users_table.c.active.is_(True)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (_user(row), row.password_hash)

    def authenticate(self, login: str, password: str) -> User | None:
        """The active user when ``password`` is theirs. Slow on purpose (one scrypt check),
        and as slow for an unknown login, so the answer's timing tells nothing."""
        found = self.find_user(login)
        if found is None:
            dummy_verify(password)
            return None
        user, encoded = found
        return user if verify_password(password, encoded) else None

    def list_users(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(users_table).order_by(users_table.c.login)).all()
        return [_user(row) for row in rows]

    def accounts(self) -> list[tuple[User, bool]]:
        """Every user, disabled ones too, with whether they may sign in."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(users_table).order_by(users_table.c.login)).all()
        return [(_user(row), bool(row.active)) for row in rows]

    def change_user(
        self,
        login: str,
        *,
        role: str | None = None,
        active: bool | None = None,
        display_name: str | None = None,
        agent: str | None = None,
        interface: str | None = None,
    ) -> User:
        """Changes what is given; disabling a user signs them out everywhere (a changed
        role takes effect on their next request: sessions read the user each time)."""
        if role is not None and role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
        given = {"role": role, "active": active, "display_name": display_name,
                 "agent": agent, "interface": interface}  # fmt: skip
        values = {k: v for k, v in given.items() if v is not None}
        with self.engine.begin() as connection:
            row = connection.execute(
                select(users_table.c.id).where(users_table.c.login == login)
            ).first()
            if row is None:
                raise AccountError(f"no user {login!r}")
            if values:
                connection.execute(
                    update(users_table).where(users_table.c.id == row.id).values(**values)
                )
            if active is False:
                connection.execute(delete(sessions_table).where(sessions_table.c.user_id == row.id))
        with self.engine.connect() as connection:
            changed = connection.execute(
                select(users_table).where(users_table.c.login == login)
            ).one()
        return _user(changed)

    def set_password(self, login: str, password: str) -> None:
        check_new_password(password)
        encoded = hash_password(password)
        with self.engine.begin() as connection:
            result = connection.execute(
                update(users_table)
                .where(users_table.c.login == login)
                .values(password_hash=encoded)
            )
            if result.rowcount == 0:
                raise AccountError(f"no user {login!r}")
            # A new password signs every existing session out.
            ids = select(users_table.c.id).where(users_table.c.login == login)
            connection.execute(delete(sessions_table).where(sessions_table.c.user_id.in_(ids)))

    # sessions
    def create_session(self, user: User, lifetime_s: float) -> tuple[str, Session]:
        """A new session; returns the token for the cookie (shown once, stored hashed)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(user, secrets.token_urlsafe(32), now, now + lifetime_s)
        with self.engine.begin() as connection:
            connection.execute(
                insert(sessions_table).values(
                    id_digest=session_digest(token),
                    user_id=user.id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    def load_session(self, token: str, idle_s: float) -> Session | None:
        """The live session for ``token``; an expired or idle one is deleted and gives None."""
        now = self.clock()
        digest = session_digest(token)
        query = (
            select(sessions_table, users_table)
            .join(users_table, users_table.c.id == sessions_table.c.user_id)
            .where(sessions_table.c.id_digest == digest)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        if not row.active or row.expires_at <= now or now - row.last_seen_at > idle_s:
            self.delete_session(token)
            return None
        if now - row.last_seen_at >= self.TOUCH_EVERY_S:
            with self.engine.begin() as connection:
                connection.execute(
                    update(sessions_table)
                    .where(sessions_table.c.id_digest == digest)
                    .values(last_seen_at=now)
                )
        return Session(_user(row), row.csrf_token, row.created_at, row.expires_at)

    def delete_session(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(sessions_table).where(sessions_table.c.id_digest == session_digest(token))
            )

    def purge_expired(self) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(sessions_table).where(sessions_table.c.expires_at <= self.clock())
            )
        return int(result.rowcount or 0)
