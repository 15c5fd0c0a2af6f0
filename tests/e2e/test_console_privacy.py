"""Console admin Privacy panel in real Chromium: the app's region and encryption are shown; a shopper found by
email is exported as a ZIP (downloaded by the browser) and erased, with the report."""

from __future__ import annotations

import zipfile

import pytest

from tests.e2e.browser import new_page
from tests.e2e.journeys import sign_in_agent

pytestmark = pytest.mark.e2e


def test_admin_exports_and_erases_a_shopper_from_the_console(server, browser, shots, tmp_path) -> None:
    ctx, page = new_page(browser, 1366, 900)
    try:
        sign_in_agent(page, server.base, "anna")  # the demo admin
        panel = page.get_by_test_id("admin-privacy")
        panel.scroll_into_view_if_needed()
        assert page.get_by_test_id("privacy-region").inner_text(timeout=10000) == "local"
        panel.get_by_role("textbox").fill("tom@example.com")
        panel.locator("[data-act=export]").click()
        link = page.get_by_test_id("privacy-download")
        with page.expect_download() as dl:
            link.click()
        zip_path = tmp_path / "export.zip"
        dl.value.save_as(zip_path)
        names = zipfile.ZipFile(zip_path).namelist()
        assert "subject.json" in names and "tables/customers.json" in names
        assert b"Tom Fischer" in zipfile.ZipFile(zip_path).read("tables/customers.json")
        page.once("dialog", lambda d: d.accept())
        panel.locator("[data-act=erase]").click()
        report = page.get_by_test_id("privacy-report")
        report.wait_for(timeout=10000)
        assert "customers.deleted" in report.inner_text()
        page.screenshot(path=shots / "01_console_privacy_erased.png", full_page=True)
        assert server.sql("select count(*) from customers where email = 'tom@example.com'")[0][0] == 0
        assert server.sql("select count(*) from audit_log where action = 'privacy.erased'")[0][0] == 1
    finally:
        ctx.close()
