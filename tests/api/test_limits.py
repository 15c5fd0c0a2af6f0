"""Limits with clear answers: sign-in back-off per account and address, bounded password hashing,
failed app-secret checks, token minting, request body cap, password length."""

from __future__ import annotations

import threading

import httpx

from shopcall.console import accounts
from tests.api.hardening import GOOD, app_client, cheap_hashes, login, tenant_with_agents

__all__ = ["cheap_hashes"]


def test_wrong_passwords_lead_to_429_with_retry_after_even_for_the_right_one(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        for _ in range(5):
            assert login(c, app_id, "anna", "wrong password!").status_code == 401
        r = login(c, app_id, "anna")
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # another account is not locked by anna's failures
        assert login(c, app_id, "ben").status_code == 200


def test_one_address_trying_many_accounts_is_limited(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url, login_address_limits=["8/minute"]) as c:
        app_id, _ = tenant_with_agents(c)
        for i in range(8):
            assert login(c, app_id, f"user{i}", "wrong password!").status_code == 401
        r = login(c, app_id, "ben")
        assert r.status_code == 429 and "retry-after" in r.headers
    # a different address is not affected
    with app_client(tmp_path / "b", db_url, client=("10.2.2.2", 1)) as c:
        app_id, _ = tenant_with_agents(c)
        assert login(c, app_id, "ben").status_code == 200


def test_password_hashing_is_bounded_and_answers_503_fast(tmp_path, db_url, monkeypatch) -> None:
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(accounts, "_slots", slots)
    monkeypatch.setattr(accounts, "HASH_WAIT_S", 0.05)
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        slots.acquire()  # every slot busy
        try:
            r = login(c, app_id, "anna")
        finally:
            slots.release()
        assert r.status_code == 503 and r.json()["error"]["code"] == "busy" and r.headers["retry-after"] == "1"
        assert login(c, app_id, "anna").status_code == 200


def test_failed_app_secrets_are_limited_per_address(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url, login_address_limits=["5/minute"]) as c:
        app_id, secret = tenant_with_agents(c)
        for _ in range(5):
            assert c.get("/v1/rooms", auth=(app_id, "sk_wrong")).status_code == 401
        r = c.get("/v1/rooms", auth=(app_id, secret))
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and "retry-after" in r.headers


def test_token_minting_is_limited(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url, token_mint_limit="3/minute") as c:
        app_id, secret = tenant_with_agents(c)
        body = {"identity": "cus_1", "role": "shopper"}
        for _ in range(3):
            assert c.post("/v1/tokens", json=body, auth=(app_id, secret)).status_code == 201
        r = c.post("/v1/tokens", json=body, auth=(app_id, secret))
        assert r.status_code == 429 and "retry-after" in r.headers


def test_request_bodies_are_capped_with_413(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url, max_body_bytes=64 * 1024) as c:
        app_id, _ = tenant_with_agents(c)
        big = b'{"app_id": "' + b"x" * 100_000 + b'"}'
        r = c.post("/v1/console/login", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b"x" * 10_000

        r = c.post("/v1/console/login", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert login(c, app_id, "anna").status_code == 200  # normal bodies pass


def test_passwords_need_12_characters(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        assert login(c, app_id, "anna").status_code == 200
        r = c.post("/v1/console/password", json={"current_password": GOOD, "new_password": "short-pw"})
        assert r.status_code == 422
        r = c.post("/v1/console/admin/agents/ben/password", json={"new_password": "elevenchars"})
        assert r.status_code == 422
    try:
        accounts.check_password("x" * 11)
        raise AssertionError("11 characters accepted")
    except accounts.AccountError as e:
        assert e.code == "weak_password"
    accounts.check_password("x" * 12)


def test_basic_auth_header_unchanged_for_good_secret(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, secret = tenant_with_agents(c)
        assert c.get("/v1/rooms", auth=httpx.BasicAuth(app_id, secret)).status_code == 200
