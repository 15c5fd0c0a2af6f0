"""The message catalogs, read once from the browser's JSON files, with English as per-key fallback."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, list_currencies
from babel.units import format_unit

from shopcall.i18n.locale import DEFAULT_LOCALE, SUPPORTED, pick_locale

# Shared with the browser; found by path (the web package serves it; nothing here imports web).
LOCALES_DIR = Path(__file__).resolve().parents[1] / "web" / "static" / "i18n" / "locales"
_ARG = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=64)
def _namespace(locale: str, namespace: str) -> dict[str, str]:
    try:
        data = json.loads((LOCALES_DIR / locale / f"{namespace}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


class Translator:
    """Messages and formats for one locale. Keys carry their namespace as prefix ("server.join.title")."""

    def __init__(self, locale: str) -> None:
        self.locale = pick_locale([locale])
        self._babel = _babel_locale(self.locale)

    def has(self, key: str) -> bool:
        ns = key.split(".", 1)[0]
        return key in _namespace(self.locale, ns) or key in _namespace(DEFAULT_LOCALE, ns)

    def t(self, key: str, **values: Any) -> str:
        """The message `key` with `{name}` placeholders filled; English if the locale lacks it; else the key."""
        ns = key.split(".", 1)[0]
        msg = _namespace(self.locale, ns).get(key) or _namespace(DEFAULT_LOCALE, ns).get(key)
        if msg is None:
            return key
        return _ARG.sub(lambda m: str(values.get(m.group(1), m.group(0))), msg)

    def own(self, key: str) -> str | None:
        """The message only if this locale's catalog has it (no English fallback), placeholders unfilled."""
        return _namespace(self.locale, key.split(".", 1)[0]).get(key)

    def price(self, amount: float, currency: str) -> str:
        if currency not in list_currencies():
            return f"{self.number(amount)} {currency}"
        return str(format_currency(amount, currency, locale=self._babel))

    def number(self, n: float) -> str:
        return str(format_decimal(n, locale=self._babel))

    def date(self, when: datetime, fmt: str = "medium") -> str:
        return str(format_datetime(when, format=fmt, locale=self._babel))

    def duration(self, seconds: float) -> str:
        """Hours, minutes and seconds in this locale ("2 min, 5 sec", "2分5秒"), like I18n.formatDuration."""
        total = max(0, round(seconds))
        parts = [(total // 3600, "duration-hour"), (total % 3600 // 60, "duration-minute"),
                 (total % 60, "duration-second")]
        shown = [(v, u) for v, u in parts if v] or [(0, "duration-second")]
        return str(format_list([str(format_unit(v, u, length="short", locale=self._babel)) for v, u in shown],
                               style="unit-narrow", locale=self._babel))


@lru_cache(maxsize=len(SUPPORTED))
def translator(locale: str) -> Translator:
    """The (cached) Translator of a supported locale; anything else gets English."""
    return Translator(locale)
