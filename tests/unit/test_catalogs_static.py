"""No hard-coded English on screen: a heuristic scan of the components, the page scripts and the page markup
for user-visible string literals that do not come from the catalogs (static/i18n)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "src" / "shopcall" / "web"
SCRIPTS = [*sorted((WEB / "static" / "components").glob("*.js")),
           *(WEB / "static" / "pages" / f for f in ("console.js", "console-widget.js", "console-privacy.js",
                                                     "join.js", "recording.js"))]
PAGES = [WEB / "pages" / f for f in ("console.html", "join.html", "recording.html", "index.html")]

WORDS = re.compile(r"[A-Za-z]{2,}[^<>{}$`\"]*\s[A-Za-z]{2,}|\b[A-Z][a-z]{2,}\b")  # two words, or a Capitalised one
# What may stay as it is: brand and protocol names, CSS/DOM tokens, units shown as-is.
ALLOWED = {"ShopCall", "WebRTC", "MOS", "UDP", "TCP", "TLS", "SKU", "CRM", "REC", "JavaScript", "SDK"}


def _literal_problems(text: str) -> list[str]:
    """User-visible assignments and markup in one script, whose text is a literal rather than a catalog lookup."""
    out = []
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments (JSDoc has backticks)
    text = re.sub(r"(^|\s)//[^\n]*", r"\1", text)
    sinks = [
        r"\.(?:textContent|innerText|title|placeholder)\s*=\s*(\"[^\"]*\"|'[^']*'|`[^`]*`)",
        r"setAttribute\(\s*\"(?:aria-label|title|placeholder|alt)\"\s*,\s*(\"[^\"]*\"|`[^`]*`)",
        r"\b(?:showError|showInfo|note|fail|done|alert|confirm)\(\s*(\"[^\"]*\"|`[^`]*`)",
    ]
    for pattern in sinks:
        for m in re.finditer(pattern, text):
            literal = re.sub(r"\$\{[^}]*\}", "", m.group(1))[1:-1]
            if WORDS.search(literal) and not set(re.findall(r"[A-Za-z]+", literal)) <= ALLOWED:
                out.append(m.group(0)[:100])
    # markup in template literals: text between tags and labelling attributes
    for bare in _templates(text):
        if not re.search(r"<[a-z]", bare):
            continue
        for m in re.finditer(r">([^<>]+)<", bare):
            words = set(re.findall(r"[A-Za-z]{2,}", m.group(1)))
            if words - ALLOWED:
                out.append(f"text {m.group(1).strip()[:60]!r}")
        for m in re.finditer(r'\b(?:aria-label|title|placeholder|alt)="([^"]+)"', bare):
            if set(re.findall(r"[A-Za-z]{2,}", m.group(1))) - ALLOWED:
                out.append(f"attribute {m.group(0)[:60]!r}")
    return out


def _templates(text: str) -> list[str]:
    """The static text of every template literal (nested ones included; `${…}` parts left out)."""
    out: list[str] = []

    def template(i: int) -> int:  # at the char after the opening backtick
        buf = []
        while i < len(text):
            c = text[i]
            if c == "\\":
                buf.append(text[i:i + 2])
                i += 2
            elif c == "`":
                out.append("".join(buf))
                return i + 1
            elif text.startswith("${", i):
                i = code(i + 2, "}")
                buf.append(" ")
            else:
                buf.append(c)
                i += 1
        return i

    def code(i: int, end: str) -> int:  # JS code up to the matching `end`
        depth = 0
        while i < len(text):
            c = text[i]
            if c in "\"'":
                j = i + 1
                while j < len(text) and text[j] != c:
                    j += 2 if text[j] == "\\" else 1
                i = j + 1
            elif c == "`":
                i = template(i + 1)
            elif c == "{":
                depth += 1
                i += 1
            elif c == "}":
                if depth == 0 and end == "}":
                    return i + 1
                depth -= 1
                i += 1
            else:
                i += 1
        return i

    code(0, "")
    return out


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_take_visible_text_from_the_catalogs(path: Path) -> None:
    assert not _literal_problems(path.read_text(encoding="utf-8")), _literal_problems(path.read_text(encoding="utf-8"))


def test_the_scan_catches_hard_coded_english() -> None:
    bad = ('el.textContent = "Call ended";', 'b.setAttribute("aria-label", "Mute microphone");',
           'note(`Could not answer: ${x}`);', 'x.innerHTML = `<button>${icons.x}Answer</button>`;',
           'x.innerHTML = `<p title="Your status">${a}</p>`;')
    for line in bad:
        assert _literal_problems(line), line
    good = ('el.textContent = t("call.ended");', 'x.innerHTML = `<b>${esc(t("a.b"))}</b><span>${n}</span>`;',
            'el.textContent = "";', 'b.setAttribute("aria-label", label);', 'p.textContent = `${a} · ${b}`;')
    for line in good:
        assert not _literal_problems(line), line


class _Texts(HTMLParser):
    """Text nodes of a page body that have letters but no `data-i18n` on their element."""

    SKIP = {"script", "style", "code", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.bad: list[str] = []
        self.attr_bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        translated = "data-i18n" in a
        named = set(re.findall(r"([a-z-]+):", a.get("data-i18n-attr") or ""))
        for attr in ("aria-label", "title", "placeholder", "alt"):
            if a.get(attr) and set(re.findall(r"[A-Za-z]{2,}", a[attr] or "")) - ALLOWED and attr not in named:
                self.attr_bad.append(f"<{tag} {attr}={a[attr]!r}>")
        language_picker = a.get("data-testid") == "console-language"
        inherited = bool(self.stack and self.stack[-1][1] and tag == "option")
        if tag not in ("br", "img", "input", "meta", "link"):
            self.stack.append((tag, translated or language_picker or inherited or tag in self.SKIP))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.stack or self.stack[-1][1] or any(t in self.SKIP for t, _ in self.stack):
            return
        words = set(re.findall(r"[A-Za-z]{2,}", data)) - ALLOWED
        if words:
            self.bad.append(data.strip()[:60])


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_markup_text_comes_from_the_catalogs(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    body = html[html.index("<body"):]
    p = _Texts()
    p.feed(body)
    assert not p.bad, f"{path.name}: text without data-i18n: {p.bad}"
    assert not p.attr_bad, f"{path.name}: labels without data-i18n-attr: {p.attr_bad}"
    assert re.search(r"<title data-i18n=", html) or path.name == "index.html" and "<title data-i18n" in html
