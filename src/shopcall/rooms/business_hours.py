"""Per-app business hours: when the call button takes calls, and when it offers a callback instead.

An app without hours configured is always open. Hours are local to the app's time zone, so
daylight-saving changes need no configuration changes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")
    weekly: dict[str, list[tuple[time, time]]] = Field(
        default_factory=dict, description='opening intervals per day, e.g. {"mon": [["09:00", "18:00"]]}')
    closed_dates: list[date] = Field(default_factory=list, description="holidays: closed all day")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _days(self) -> BusinessHours:
        for day, spans in self.weekly.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r}; use {', '.join(DAYS)}")
            for start, end in spans:
                if end <= start:
                    raise ValueError(f"{day}: an interval must end after it starts ({start}–{end})")
        return self

    @property
    def always_open(self) -> bool:
        return not self.weekly and not self.closed_dates

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = now.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.closed_dates:
            return False
        spans = self.weekly.get(DAYS[local.weekday()], [])
        t = local.time().replace(tzinfo=None)
        return any(start <= t < end for start, end in spans)

    def next_open(self, now: datetime) -> datetime | None:
        """The next opening moment (aware, in the app's zone), or None if it never opens again."""
        if self.is_open(now):
            return now
        tz = ZoneInfo(self.timezone)
        local = now.astimezone(tz)
        for offset in range(0, 15):
            day = local.date() + timedelta(days=offset)
            if day in self.closed_dates:
                continue
            for start, _end in sorted(self.weekly.get(DAYS[day.weekday()], [])):
                at = datetime.combine(day, start, tz)
                if at > local:
                    return at
        return None


def parse_hours(raw: dict[str, Any] | None) -> BusinessHours:
    return BusinessHours.model_validate(raw or {})
