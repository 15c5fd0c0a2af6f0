"""Server-side languages: locale negotiation, the shared message catalogs, and Babel formatting.

The server reads the same JSON catalogs the browser does (`web/static/i18n/locales/<locale>/<ns>.json`), so a
string is translated once, checked by one test, and needs no compile step (gettext .mo files would). The server
uses plain `{name}` placeholders only; plurals and numbers go through Babel here (and Intl in the browser).
"""

from shopcall.i18n.catalog import Translator, translator
from shopcall.i18n.locale import DEFAULT_LOCALE, SUPPORTED, negotiate, parse_accept_language, pick_locale

__all__ = ["DEFAULT_LOCALE", "SUPPORTED", "Translator", "negotiate", "parse_accept_language", "pick_locale",
           "translator"]
