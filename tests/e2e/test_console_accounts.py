"""Console accounts under the page's CSP: an admin disables an agent from the admin table (their
console session ends), and an agent changes their own password in the dialog and signs in with it."""

from __future__ import annotations

from typing import Any

from tests.e2e.journeys import sign_in_agent

NEW = "a much longer passphrase"


def test_admin_disables_an_agent_and_an_agent_changes_their_password(server: Any, browser: Any, shots: Any) -> None:
    actx, bctx = browser.new_context(), browser.new_context()
    violations: list[str] = []
    try:
        anna, ben = actx.new_page(), bctx.new_page()
        for page in (anna, ben):
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        sign_in_agent(ben, server.base, "ben")
        sign_in_agent(anna, server.base, "anna")
        row = anna.get_by_test_id("admin-agent-row").filter(has_text="Ben")
        row.get_by_role("button", name="Disable").click()
        anna.get_by_test_id("admin-agent-row").filter(has_text="(disabled)").wait_for(timeout=10000)
        assert ben.request.get(server.base + "/v1/console/me").status == 401
        anna.get_by_test_id("admin-agent-row").filter(has_text="Ben").get_by_role("button", name="Enable").click()
        anna.get_by_test_id("admin-agent-row").filter(has_text="Ben").get_by_role("button", name="Disable").wait_for()

        anna.get_by_test_id("change-password").click()
        anna.get_by_test_id("password-current").fill("demo")
        anna.get_by_test_id("password-new").fill(NEW)
        anna.screenshot(path=shots / "01_change_password.png")
        anna.get_by_test_id("password-submit").click()
        anna.get_by_test_id("console-note").filter(has_text="Password changed").wait_for(timeout=10000)
        anna.get_by_test_id("logout").click()
        anna.get_by_test_id("login-app").fill("app_demo")
        anna.get_by_test_id("login-user").fill("anna")
        anna.get_by_test_id("login-password").fill(NEW)
        anna.get_by_test_id("login-submit").click()
        anna.get_by_test_id("agent-status").filter(has_text="Online").wait_for(timeout=10000)
        assert violations == []
    finally:
        actx.close()
        bctx.close()
