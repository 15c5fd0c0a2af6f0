"""Accessibility checks for browser tests: axe-core (npm, pinned in package.json) run inside the page.

    from tests.e2e.a11y import assert_no_serious_violations
    assert_no_serious_violations(page)                       # the whole page, open shadow roots included
    assert_no_serious_violations(page, include=["shopcall-call"], name="call view")

axe is injected from node_modules through the DevTools protocol (page.evaluate), which the pages' strict CSP
does not apply to, so no test needs `bypass_csp`. Only `serious` and `critical` violations fail a test; the
others are returned for a look."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")


def _inject(page: Any) -> None:
    if page.evaluate("() => typeof window.axe === 'object'"):
        return
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `npm ci` (scripts/setup.sh does)")
    # a DevTools evaluation of the script itself: page CSPs (no 'unsafe-eval') do not apply to it
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")


def axe_results(page: Any, *, include: list[str] | None = None, exclude: list[str] | None = None) -> dict[str, Any]:
    """axe's result object for the page (or the `include` selectors), WCAG 2.1 A/AA plus best practices."""
    _inject(page)
    context: dict[str, Any] = {"include": [[s] for s in include]} if include else {"include": [["html"]]}
    if exclude:
        context["exclude"] = [[s] for s in exclude]
    result: dict[str, Any] = page.evaluate(
        """async ([context]) => {
          const r = await window.axe.run(context, {resultTypes: ["violations"],
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
          return {violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, summary: n.failureSummary}))}))};
        }""",
        [context],
    )
    return result


def assert_no_serious_violations(page: Any, *, include: list[str] | None = None, exclude: list[str] | None = None,
                                 name: str = "") -> list[dict[str, Any]]:
    """Fail on any serious or critical axe violation; return the milder ones (for printing)."""
    violations = axe_results(page, include=include, exclude=exclude)["violations"]
    bad = [v for v in violations if v["impact"] in FAILING]
    assert not bad, f"axe: serious/critical violations on {name or page.url}:\n" + json.dumps(bad, indent=1)[:6000]
    return [v for v in violations if v["impact"] not in FAILING]
