"""Which of the supported locales a request gets: an explicit `lang`, else Accept-Language, else English."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

SUPPORTED: tuple[str, ...] = ("en", "zh-CN", "de", "fr", "es", "ja")
DEFAULT_LOCALE = "en"
_BY_LOWER = {s.lower(): s for s in SUPPORTED}
_BY_LANGUAGE = {s.split("-")[0]: s for s in SUPPORTED}


def parse_accept_language(header: str | None) -> list[str]:
    """The header's language tags, most preferred first (q-values honoured, malformed parts skipped)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q > 0:
            ranked.append((-q, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _language(tag: str) -> str | None:
    """The language subtag, through Babel (so "zh_Hant_TW", "ZH-hans" parse); None for nonsense."""
    try:
        return Locale.parse(tag.replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return tag.split("-")[0].split("_")[0].lower() or None


def pick_locale(candidates: list[str]) -> str:
    """The first candidate that is supported, exactly or by language ("de-AT" → "de", "zh-Hans" → "zh-CN")."""
    for c in candidates:
        c = c.strip().replace("_", "-")
        if c.lower() in _BY_LOWER:
            return _BY_LOWER[c.lower()]
        lang = _language(c)
        if lang in _BY_LANGUAGE:
            return _BY_LANGUAGE[lang]
    return DEFAULT_LOCALE


def negotiate(accept_language: str | None, explicit: str | None = None) -> str:
    """The request's locale: `explicit` (a `lang` parameter or an agent's setting) if supported, else the header."""
    candidates = ([explicit] if explicit else []) + parse_accept_language(accept_language)
    return pick_locale(candidates)
