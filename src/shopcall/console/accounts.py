"""Agent accounts and console sessions.

Passwords are argon2id hashes (argon2-cffi defaults, rehashed when the parameters change); at most
`HASH_SLOTS` hashes run at once (each costs ~64 MiB), and a login that cannot get a slot within
`HASH_WAIT_S` fails fast with `HashingBusy`. A session is a random cookie value; only its SHA-256 is
stored, so a database leak does not hand out live sessions. Sessions expire and can be revoked
(logout); a password change, disable or delete revokes all of the agent's sessions and bumps the
agent's token version, which `token_current` checks for signalling tokens.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopcall.auth.tokens import ClientClaims
from shopcall.db.engine import Database
from shopcall.db.models import Agent, AgentSession, utcnow

SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 12
HASH_SLOTS = max(1, min(4, os.cpu_count() or 1))
HASH_WAIT_S = 2.0
_slots = threading.BoundedSemaphore(HASH_SLOTS)
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown identity like a real one.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class HashingBusy(AccountError):
    """Every password-hashing slot stayed busy for HASH_WAIT_S: answer 503 and let the client retry."""

    def __init__(self) -> None:
        super().__init__("busy", "too many sign-ins at once; try again in a moment")


@contextmanager
def _hash_slot() -> Iterator[None]:
    if not _slots.acquire(timeout=HASH_WAIT_S):
        raise HashingBusy()
    try:
        yield
    finally:
        _slots.release()


@dataclass(frozen=True)
class AgentInfo:
    id: int
    app_id: str
    identity: str
    name: str
    email: str | None
    role: str
    languages: list[str]
    categories: list[str]
    max_concurrent: int
    token_version: int = 0
    locale: str | None = None  # the console's language; None: the browser's

    def public(self) -> dict[str, object]:
        return {"identity": self.identity, "name": self.name, "email": self.email, "role": self.role,
                "languages": self.languages, "categories": self.categories, "max_concurrent": self.max_concurrent,
                "locale": self.locale}


def _info(a: Agent) -> AgentInfo:
    return AgentInfo(a.id, a.app_id, a.identity, a.display_name, a.email, a.role, list(a.languages or []),
                     list(a.categories or []), a.max_concurrent, a.token_version, a.locale)


def check_password(password: str) -> None:
    """The password policy for every password set through the API, the console or the CLI."""
    if len(password) < MIN_PASSWORD:
        raise AccountError("weak_password", f"a password needs at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    if not password:
        raise AccountError("weak_password", "a password cannot be empty")
    with _hash_slot():
        return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    with _hash_slot():
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def upsert_agent(db: Database, app_id: str, identity: str, *, name: str, password: str | None = None,
                 email: str | None = None, role: str = "agent", languages: list[str] | None = None,
                 categories: list[str] | None = None, max_concurrent: int = 1) -> AgentInfo:
    if role not in ("agent", "admin"):
        raise AccountError("bad_request", "role must be agent or admin")
    if max_concurrent < 1:
        raise AccountError("bad_request", "max_concurrent must be at least 1")
    pw_hash = hash_password(password) if password is not None else None
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
        if a is None:
            a = Agent(app_id=app_id, identity=identity, display_name=name)
            s.add(a)
        a.display_name, a.email, a.role = name, email, role
        a.languages, a.categories, a.max_concurrent = list(languages or []), list(categories or []), max_concurrent
        if pw_hash is not None:
            a.password_hash = pw_hash
        s.flush()
        return _info(a)


def authenticate(db: Database, app_id: str, login: str, password: str) -> AgentInfo:
    """Check identity-or-email + password; the same error for every failure (no account probing)."""
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id,
                                         (Agent.identity == login) | (Agent.email == login)))
        stored = a.password_hash if a is not None and a.password_hash else _DUMMY_HASH
    ok = _verify(stored, password) and a is not None and a.password_hash is not None
    if not ok or a is None:
        raise AccountError("login_failed", "wrong login or password")
    if a.disabled:
        raise AccountError("account_disabled", "this account is disabled; ask an admin")
    if _hasher.check_needs_rehash(stored):
        new_hash = hash_password(password)
        with db.session() as s:
            s.execute(update(Agent).where(Agent.id == a.id, Agent.password_hash == stored)
                      .values(password_hash=new_hash))
    return _info(a)


def _revoke(s: Session, agent: Agent) -> None:
    """Bump the token version and end every console session of `agent` (inside the caller's session)."""
    agent.token_version = (agent.token_version or 0) + 1
    s.execute(update(AgentSession).where(AgentSession.agent_id == agent.id).values(revoked=True))


def set_password(db: Database, app_id: str, identity: str, password: str) -> AgentInfo:
    """Set a new password (policy checked); ends the agent's sessions and refuses their older tokens."""
    check_password(password)
    pw_hash = hash_password(password)
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
        if a is None:
            raise AccountError("agent_not_found", f"no agent {identity}")
        a.password_hash = pw_hash
        _revoke(s, a)
        s.flush()
        return _info(a)


def change_own_password(db: Database, agent: AgentInfo, current: str, new: str) -> AgentInfo:
    """The agent's own change: the current password must be right."""
    check_password(new)
    with db.session() as s:
        a = s.get(Agent, agent.id)
        stored = a.password_hash if a is not None and a.password_hash else _DUMMY_HASH
    if a is None or not _verify(stored, current):
        raise AccountError("login_failed", "the current password is wrong")
    return set_password(db, agent.app_id, agent.identity, new)


def set_disabled(db: Database, app_id: str, identity: str, disabled: bool) -> AgentInfo:
    """Disable (ends sessions, refuses tokens, blocks sign-in) or enable an agent."""
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
        if a is None:
            raise AccountError("agent_not_found", f"no agent {identity}")
        if disabled and not a.disabled:
            _revoke(s, a)
        a.disabled = disabled
        s.flush()
        return _info(a)


def set_locale(db: Database, app_id: str, identity: str, locale: str | None) -> AgentInfo:
    """The agent's console language (a supported locale, checked by the caller) or None for the browser's."""
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
        if a is None:
            raise AccountError("agent_not_found", f"no agent {identity}")
        a.locale = locale
        s.flush()
        return _info(a)


def delete_agent(db: Database, app_id: str, identity: str) -> None:
    """Delete the account; its sessions go with it (cascade) and its tokens are refused (no row)."""
    with db.session() as s:
        a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
        if a is None:
            raise AccountError("agent_not_found", f"no agent {identity}")
        s.delete(a)


def is_disabled(db: Database, app_id: str, identity: str) -> bool:
    with db.session() as s:
        return bool(s.scalar(select(Agent.disabled).where(Agent.app_id == app_id, Agent.identity == identity)))


def token_current(db: Database, claims: ClientClaims) -> bool:
    """False for a console-minted token (`ver` set) whose agent was deleted, disabled or re-keyed since."""
    if claims.version is None:
        return True
    with db.session() as s:
        row = s.execute(select(Agent.token_version, Agent.disabled)
                        .where(Agent.app_id == claims.app_id, Agent.identity == claims.identity)).first()
    return row is not None and not row.disabled and row.token_version == claims.version


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def open_session(db: Database, agent: AgentInfo, ttl: timedelta = SESSION_TTL) -> str:
    cookie = secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(AgentSession(id=_digest(cookie), agent_id=agent.id, app_id=agent.app_id,
                           expires_at=utcnow() + ttl))
    return cookie


def session_agent(db: Database, cookie: str | None) -> AgentInfo:
    if not cookie:
        raise AccountError("unauthorized", "sign in to the console first")
    with db.session() as s:
        sess = s.get(AgentSession, _digest(cookie))
        if sess is None or sess.revoked:
            raise AccountError("unauthorized", "this console session is not valid; sign in again")
        if sess.expires_at <= utcnow():
            raise AccountError("session_expired", "your console session has expired; sign in again")
        a = s.get(Agent, sess.agent_id)
        if a is None or a.disabled:
            raise AccountError("unauthorized", "this agent account is disabled or no longer exists")
        return _info(a)


def close_session(db: Database, cookie: str | None) -> None:
    if not cookie:
        return
    with db.session() as s:
        sess = s.get(AgentSession, _digest(cookie))
        if sess is not None:
            sess.revoked = True
