"""HTTP rate limits on the shared `RateLimiter`: failed console sign-ins (per account and per client
address, in widening windows so the wait grows with the failures), failed app-secret checks, and
token minting. Each raises `ApiError(429)` with `Retry-After`."""

from __future__ import annotations

import math

from shopcall.api.errors import ApiError
from shopcall.config import Settings
from shopcall.ratelimit import RateLimiter


def too_many(wait_s: float, message: str) -> ApiError:
    return ApiError(429, "rate_limited", f"{message}; try again in {math.ceil(wait_s)} s",
                    {"Retry-After": str(max(1, math.ceil(wait_s)))})


class Throttle:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter, self.settings = limiter, settings

    def _check(self, rules: list[str], keys: tuple[str, ...], message: str) -> None:
        waits = [w for r in rules if (w := self.limiter.blocked(r, *keys)) is not None]
        if waits:
            raise too_many(max(waits), message)

    def _count(self, rules: list[str], keys: tuple[str, ...]) -> None:
        for r in rules:
            self.limiter.hit(r, *keys)

    def before_login(self, app_id: str, login: str, address: str) -> None:
        self._check(self.settings.login_limits, ("login", app_id, login.lower()), "too many failed sign-ins")
        self._check(self.settings.login_address_limits, ("auth-addr", address), "too many failed sign-ins")

    def login_failed(self, app_id: str, login: str, address: str) -> None:
        self._count(self.settings.login_limits, ("login", app_id, login.lower()))
        self._count(self.settings.login_address_limits, ("auth-addr", address))

    def login_succeeded(self, app_id: str, login: str) -> None:
        for r in self.settings.login_limits:
            self.limiter.clear(r, "login", app_id, login.lower())

    def before_secret_check(self, address: str) -> None:
        self._check(self.settings.login_address_limits, ("auth-addr", address), "too many failed authentications")

    def secret_failed(self, address: str) -> None:
        self._count(self.settings.login_address_limits, ("auth-addr", address))

    def mint(self, *keys: str) -> None:
        """Count one minted token under `keys` (an app id, or a client address)."""
        wait = self.limiter.hit(self.settings.token_mint_limit, "mint", *keys)
        if wait is not None:
            raise too_many(wait, "too many tokens minted")
