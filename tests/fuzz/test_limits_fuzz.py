"""The fuzz app raises the sign-in, app-secret and token-minting limits so they do not hide what requests
do; with the default limits, each still answers 429 with Retry-After (never 5xx)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shopcall.app import create_app
from shopcall.config import Settings
from tests.fuzz.conftest import make_tenant


def test_limits_still_answer_429(tmp_path: Path, cheap_hashing: None) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", media_backend="none", token_mint_limit="3/minute"))
    with TestClient(app, client=("10.9.9.9", 5000)) as c:
        t = make_tenant(app)
        # console sign-in: 5 failures per account, then 429 (even for the right password)
        codes = [c.post("/v1/console/login", json={"app_id": t.app_id, "login": "anna", "password": "wrong password!"})
                 .status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        r = c.post("/v1/console/login", json={"app_id": t.app_id, "login": "anna", "password": "correct horse battery"})
        assert r.status_code == 429 and "retry-after" in r.headers
        # token minting per app
        body = {"identity": "cus_1", "role": "shopper"}
        codes = [c.post("/v1/tokens", json=body, auth=(t.app_id, t.secret)).status_code for _ in range(4)]
        assert codes == [201] * 3 + [429]
        # failed app secrets per address (20/minute by default; 6 sign-in failures above count too)
        codes = [c.get("/v1/rooms", auth=(t.app_id, "sk_wrong")).status_code for _ in range(20)]
        assert set(codes) <= {401, 429} and codes[-1] == 429
        r = c.get("/v1/rooms", auth=(t.app_id, t.secret))
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and "retry-after" in r.headers
