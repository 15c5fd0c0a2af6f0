"""What the call desk reads about an app and its agents: routing knobs, hours, skills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import Agent, App
from shopcall.rooms.business_hours import BusinessHours, parse_hours


@dataclass(frozen=True)
class AgentProfile:
    languages: list[str]
    categories: list[str]
    max_concurrent: int


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def app_exists(self, app_id: str) -> bool:
        with self.db.session() as s:
            return s.get(App, app_id) is not None

    def routing(self, app_id: str) -> dict[str, Any]:
        """The app's routing settings as stored (empty: defaults)."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            return dict(app.routing or {}) if app else {}

    def hours(self, app_id: str) -> BusinessHours:
        with self.db.session() as s:
            app = s.get(App, app_id)
            return parse_hours(app.business_hours if app else None)

    def agent_name(self, app_id: str, identity: str) -> str:
        """The agent's display name (their identity when they have no account)."""
        with self.db.session() as s:
            name = s.scalar(select(Agent.display_name).where(Agent.app_id == app_id, Agent.identity == identity))
            return name or identity

    def agent_profile(self, app_id: str, identity: str) -> AgentProfile:
        """Skills and capacity; an agent known only by its token: no skills, one call at a time."""
        with self.db.session() as s:
            a = s.scalar(select(Agent).where(Agent.app_id == app_id, Agent.identity == identity))
            if a is None:
                return AgentProfile([], [], 1)
            return AgentProfile(list(a.languages or []), list(a.categories or []), a.max_concurrent)
