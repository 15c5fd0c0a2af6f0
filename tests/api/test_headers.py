"""Browser headers: a CSP with frame-ancestors 'none' on every page, and the Secure cookie flag from
public_url or a trusted proxy's X-Forwarded-Proto (never from anyone else's)."""

from __future__ import annotations

import pytest

from tests.api.hardening import app_client, cheap_hashes, login, tenant_with_agents

__all__ = ["cheap_hashes"]


@pytest.mark.parametrize("path", ["/", "/console", "/join/rm_x", "/console/recordings/rec_x", "/docs"])
def test_pages_send_a_csp_and_forbid_framing(tmp_path, path) -> None:
    with app_client(tmp_path, f"sqlite:///{tmp_path / 't.db'}") as c:
        r = c.get(path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        if path != "/docs":
            script = next(d for d in csp.split("; ") if d.startswith("script-src"))
            assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


def _cookie(tmp_path, client, headers=None, **settings) -> str:
    with app_client(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", client=client, **settings) as c:
        app_id, _ = tenant_with_agents(c)
        r = c.post("/v1/console/login", json={"app_id": app_id, "login": "anna", "password": "correct horse battery"},
                   headers=headers or {})
        assert r.status_code == 200
        return r.headers["set-cookie"].lower()


def test_secure_cookie_follows_public_url_and_trusted_proxies(tmp_path) -> None:
    https = {"x-forwarded-proto": "https"}
    assert "secure" not in _cookie(tmp_path / "a", ("10.0.0.5", 1)).split("; ")
    assert "secure" in _cookie(tmp_path / "b", ("10.0.0.5", 1), public_url="https://calls.shop.example").split("; ")
    # the header from an untrusted peer is ignored, from a listed proxy it is believed
    assert "secure" not in _cookie(tmp_path / "c", ("10.0.0.5", 1), https).split("; ")
    assert "secure" in _cookie(tmp_path / "d", ("10.0.0.5", 1), https, trusted_proxies=["10.0.0.0/24"]).split("; ")


def test_forwarded_for_counts_only_behind_a_trusted_proxy(tmp_path) -> None:
    """A client cannot dodge the per-address limit by sending its own X-Forwarded-For."""
    with app_client(tmp_path, f"sqlite:///{tmp_path / 'f.db'}", client=("10.0.0.5", 1),
                    login_address_limits=["3/minute"]) as c:
        app_id, _ = tenant_with_agents(c)
        for i in range(3):
            login(c, app_id, f"u{i}", "wrong password!")
        r = c.post("/v1/console/login", json={"app_id": app_id, "login": "ben", "password": "x"},
                   headers={"x-forwarded-for": "192.0.2.77"})
        assert r.status_code == 429
