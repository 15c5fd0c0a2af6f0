"""Agent accounts and console sessions.

Passwords are argon2id hashes (argon2-cffi defaults, rehashed when the parameters change).
A session is a random cookie value; only its SHA-256 is stored, so a database leak does not
hand out live sessions. Sessions expire and can be revoked (logout).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import Agent, AgentSession, utcnow

SESSION_TTL = timedelta(hours=12)
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown identity like a real one.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


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

    def public(self) -> dict[str, object]:
        return {"identity": self.identity, "name": self.name, "email": self.email, "role": self.role,
                "languages": self.languages, "categories": self.categories, "max_concurrent": self.max_concurrent}


def _info(a: Agent) -> AgentInfo:
    return AgentInfo(a.id, a.app_id, a.identity, a.display_name, a.email, a.role, list(a.languages or []),
                     list(a.categories or []), a.max_concurrent)


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise AccountError("weak_password", "a password needs at least 4 characters")
    return _hasher.hash(password)


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
        try:
            _hasher.verify(stored, password)
            ok = a is not None and a.password_hash is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or a is None:
            raise AccountError("login_failed", "wrong login or password")
        if _hasher.check_needs_rehash(stored):
            a.password_hash = _hasher.hash(password)
        return _info(a)


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
        if a is None:
            raise AccountError("unauthorized", "this agent account no longer exists")
        return _info(a)


def close_session(db: Database, cookie: str | None) -> None:
    if not cookie:
        return
    with db.session() as s:
        sess = s.get(AgentSession, _digest(cookie))
        if sess is not None:
            sess.revoked = True
