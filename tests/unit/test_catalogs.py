"""The message catalogs (static/i18n/locales/<locale>/<namespace>.json, widget included): every locale has every
English key, no extra ones, and the same ICU arguments (names, types, select cases); every message parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shopcall.i18n import SUPPORTED
from shopcall.i18n.catalog import LOCALES_DIR

NAMESPACES = ("common", "widget", "call", "precall", "chat", "console", "join", "recording", "errors")
STATIC = LOCALES_DIR.parents[1]  # web/static


class IcuError(ValueError):
    pass


def parse_icu(msg: str) -> dict[str, tuple[str, frozenset[str]]]:
    """The arguments of an ICU message: name → (type, select cases), nested messages included.

    Follows ICU's apostrophe rules (`''` is a quote; `'` before `{`, `}` or `#` starts quoted text) and checks
    the syntax: balanced braces, known types, an `other` case in every plural and select."""
    args: dict[str, tuple[str, frozenset[str]]] = {}

    def add(name: str, kind: str, cases: frozenset[str]) -> None:
        if name in args and args[name][0] != kind:
            raise IcuError(f"argument {name} used as {args[name][0]} and {kind}")
        args[name] = (kind, cases | args.get(name, ("", frozenset()))[1])

    def message(i: int, in_plural: bool) -> int:
        """Parse text up to an unmatched `}` (or the end); return its index."""
        while i < len(msg):
            c = msg[i]
            if c == "'":
                if msg[i + 1:i + 2] == "'":
                    i += 2
                    continue
                if msg[i + 1:i + 2] in ("{", "}") or (in_plural and msg[i + 1:i + 2] == "#"):
                    end = msg.find("'", i + 1)
                    if end < 0:
                        raise IcuError("unterminated quote")
                    i = end + 1
                    continue
                i += 1
            elif c == "{":
                i = argument(i + 1)
            elif c == "}":
                return i
            else:
                i += 1
        return i

    def skip_ws(i: int) -> int:
        while i < len(msg) and msg[i].isspace():
            i += 1
        return i

    def argument(i: int) -> int:
        m = re.compile(r"\s*([A-Za-z_][\w]*)\s*([,}])").match(msg, i)
        if not m:
            raise IcuError(f"bad argument at {i}: {msg[i:i + 20]!r}")
        name, sep = m.group(1), m.group(2)
        i = m.end()
        if sep == "}":
            add(name, "string", frozenset())
            return i
        t = re.compile(r"\s*(\w+)\s*([,}])").match(msg, i)
        if not t:
            raise IcuError(f"bad type for {name}")
        kind, sep = t.group(1), t.group(2)
        i = t.end()
        if kind in ("number", "date", "time"):
            add(name, kind, frozenset())
            if sep == "}":
                return i
            end = msg.find("}", i)
            if end < 0 or "{" in msg[i:end]:
                raise IcuError(f"bad {kind} style for {name}")
            return end + 1
        if kind not in ("plural", "select", "selectordinal") or sep != ",":
            raise IcuError(f"unknown argument type {kind!r}")
        i = skip_ws(i)
        if kind != "select":
            off = re.compile(r"offset:\d+\s*").match(msg, i)
            if off:
                i = off.end()
        cases: set[str] = set()
        while True:
            i = skip_ws(i)
            if i < len(msg) and msg[i] == "}":
                break
            key = re.compile(r"(=\d+|[^\s{}]+)\s*\{").match(msg, i)
            if not key:
                raise IcuError(f"bad case in {name} at {msg[i:i + 20]!r}")
            cases.add(key.group(1))
            i = message(key.end(), kind != "select")
            if i >= len(msg) or msg[i] != "}":
                raise IcuError(f"unclosed case {key.group(1)} in {name}")
            i += 1
        if "other" not in cases:
            raise IcuError(f"{kind} {name} has no `other` case")
        add(name, kind, frozenset(cases) if kind == "select" else frozenset())
        return i + 1

    end = message(0, False)
    if end != len(msg):
        raise IcuError(f"unmatched }} at {end}")
    return args


def catalog(locale: str, ns: str) -> dict[str, str]:
    path = LOCALES_DIR / locale / f"{ns}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values()), f"{path}: flat strings only"
    return data


def test_parser_reads_arguments_and_rejects_broken_messages() -> None:
    assert parse_icu("Hi {name}, {n, plural, one {# item} other {# items for {who}}}") == {
        "name": ("string", frozenset()), "n": ("plural", frozenset()), "who": ("string", frozenset())}
    assert parse_icu("{a, select, x {X} other {Y}} {p, number, ::.0} '{'literal'}' it''s") == {
        "a": ("select", frozenset({"x", "other"})), "p": ("number", frozenset())}
    assert parse_icu("l'appel de {name}") == {"name": ("string", frozenset())}
    for bad in ("{name", "{n, plural, one {x}}", "{a, select, x {X}}", "text }", "{n, plurl, other {x}}", "{}"):
        with pytest.raises(IcuError):
            parse_icu(bad)


def test_the_six_locales_are_the_browsers() -> None:
    js = (STATIC / "i18n" / "i18n.js").read_text(encoding="utf-8")
    assert f"SUPPORTED = {json.dumps(list(SUPPORTED), separators=(', ', ': '))}" in js
    assert sorted(p.name for p in LOCALES_DIR.iterdir() if p.is_dir()) == sorted(SUPPORTED)


@pytest.mark.parametrize("ns", NAMESPACES)
def test_english_catalog_parses_and_keys_carry_the_namespace(ns: str) -> None:
    en = catalog("en", ns)
    assert en, f"en/{ns}.json is empty"
    for key, msg in en.items():
        assert key.startswith(f"{ns}."), f"{ns}.json: key {key} lacks the `{ns}.` prefix"
        try:
            parse_icu(msg)
        except IcuError as e:
            raise AssertionError(f"en {key}: {e}: {msg!r}") from None


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED if loc != "en"])
@pytest.mark.parametrize("ns", NAMESPACES)
def test_every_locale_has_every_key_with_the_same_placeholders(ns: str, locale: str) -> None:
    en = catalog("en", ns)
    assert (LOCALES_DIR / locale / f"{ns}.json").exists(), f"{locale}/{ns}.json is missing"
    own = catalog(locale, ns)
    missing = sorted(set(en) - set(own))
    extra = sorted(set(own) - set(en))
    assert not missing, f"{locale}/{ns}.json misses {missing}"
    assert not extra, f"{locale}/{ns}.json has keys English lacks: {extra}"
    problems = []
    for key, msg in own.items():
        try:
            mine = parse_icu(msg)
        except IcuError as e:
            problems.append(f"{key}: {e}")
            continue
        if mine != parse_icu(en[key]):
            problems.append(f"{key}: {sorted(mine.items())} != en {sorted(parse_icu(en[key]).items())}")
    assert not problems, f"{locale}/{ns}.json placeholder mismatches:\n" + "\n".join(problems)


def test_server_messages_use_plain_placeholders_only() -> None:
    """The server fills `{name}` itself (shopcall.i18n.Translator): messages it renders carry no plural or select."""
    html = "".join(p.read_text(encoding="utf-8") for p in (STATIC.parent / "pages").glob("*.html"))
    keys = set(re.findall(r'data-i18n="([\w.\-]+)"', html))
    keys |= {k for pairs in re.findall(r'data-i18n-attr="([^"]*)"', html) for k in re.findall(r":([\w.\-]+)", pairs)}
    for locale in SUPPORTED:
        for ns in NAMESPACES:
            if not (LOCALES_DIR / locale / f"{ns}.json").exists():
                continue  # reported by the key test
            for key, msg in catalog(locale, ns).items():
                if key in keys or ns == "errors":
                    assert all(kind == "string" for kind, _ in parse_icu(msg).values()), f"{locale} {key}: {msg!r}"


def test_sdk_english_error_table_matches_the_catalog() -> None:
    """static/sdk/errors.js keeps English sentences for SDK users without catalogs: the same as en/errors.json."""
    js = (STATIC / "sdk" / "errors.js").read_text(encoding="utf-8")
    table = js[js.index("export const ERROR_TEXT = {"):]
    table = table[:table.index("};")]
    sdk = {f"errors.{k}": v for k, v in re.findall(r'^\s+(\w+): "(.*)",$', table, re.M)}
    en = catalog("en", "errors")
    assert sdk and all(en.get(k) == v for k, v in sdk.items()), {k: (v, en.get(k)) for k, v in sdk.items()
                                                                  if en.get(k) != v}


def test_every_key_the_markup_names_exists() -> None:
    """`data-i18n` keys in the pages and components exist in English (a typo would show a raw key)."""
    en: dict[str, str] = {}
    for ns in NAMESPACES:
        en.update(catalog("en", ns))
    files = [*(STATIC.parent / "pages").glob("*.html"), *(STATIC / "components").glob("*.js"),
             *(STATIC / "pages").glob("*.js")]
    missing = set()
    for f in files:
        if f.name in ("shop.html", "shop.js"):
            continue
        text = f.read_text(encoding="utf-8")
        for key in re.findall(r'data-i18n="([\w.\-]+)"', text):
            missing |= {f"{f.name}: {key}"} if key not in en else set()
        for pairs in re.findall(r'data-i18n-attr="([^"$]*)"', text):
            missing |= {f"{f.name}: {k}" for k in re.findall(r":([\w.\-]+)", pairs) if k not in en}
        for key in re.findall(r'\bt\("([\w.\-]+)"', text):
            missing |= {f"{f.name}: {key}"} if key not in en else set()
    assert not missing, sorted(missing)


def test_static_dir_is_where_the_server_reads() -> None:
    assert (STATIC / "i18n" / "i18n.js").is_file() and Path(LOCALES_DIR, "en", "common.json").is_file()


def test_bundled_intl_messageformat_is_what_npm_run_build_i18n_makes(tmp_path: Path) -> None:
    """static/i18n/vendor/intl-messageformat.js is committed; rebuilt from the pinned npm packages it is the same."""
    import subprocess

    root = STATIC.parents[3]
    esbuild = root / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.skip("node_modules not installed (npm ci)")
    script = json.loads((root / "package.json").read_text())["scripts"]["build:i18n"]
    out = tmp_path / "intl-messageformat.js"
    cmd = script.replace("src/shopcall/web/static/i18n/vendor/intl-messageformat.js", str(out))
    assert cmd != script
    subprocess.run(cmd, shell=True, cwd=root, check=True, capture_output=True, timeout=60,
                   env={"PATH": f"{root / 'node_modules' / '.bin'}:/usr/bin:/bin"})
    assert out.read_bytes() == (STATIC / "i18n" / "vendor" / "intl-messageformat.js").read_bytes()
