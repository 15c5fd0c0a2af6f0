"""CRM credentials and webhook signing secrets under the keyring's master key; values sealed by older versions
(Fernet under the signing key, or in clear) are re-sealed at start-up and still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.auth.secrets import load_signing_key
from shopcall.config import Settings
from shopcall.crm.credentials import CrmCredentials
from shopcall.db.engine import Database
from shopcall.db.models import App, WebhookEndpoint
from shopcall.keys.keyring import load_master_key
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.webhooks.secrets_box import CURRENT, SecretBox


def test_box_seals_under_the_master_key_and_opens_older_tokens() -> None:
    old = SecretBox(b"s" * 48)
    new = SecretBox(b"s" * 48, master_key=b"m" * 32)
    legacy = old.encrypt("whsec_1")
    token = new.encrypt("whsec_1")
    assert token.startswith(CURRENT) and "whsec_1" not in token
    assert new.decrypt(token) == "whsec_1" and new.decrypt(legacy) == "whsec_1"
    assert new.is_current(token) and not new.is_current(legacy)
    with pytest.raises(ValueError):
        SecretBox(b"s" * 48, master_key=b"x" * 32).decrypt(token)  # another master key
    with pytest.raises(ValueError):
        SecretBox(b"s" * 48, info=b"other use", master_key=b"m" * 32).decrypt(token)  # another use


def test_startup_reseals_older_secrets_and_they_still_work(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = Database(db_url)
    db.migrate()
    tenant, _ = create_tenant(db, "Shop")
    signing = load_signing_key(data)
    legacy_box, legacy_crm = SecretBox(signing), CrmCredentials(signing)
    with db.session() as s:
        s.add(WebhookEndpoint(id="wh_1", app_id=tenant.id, url="https://hooks.example.com/", events=["*"],
                              secret_encrypted=legacy_box.encrypt("whsec_legacy")))
        app = s.get(App, tenant.id)
        assert app is not None
        app.crm_config = legacy_crm.seal({"kind": "shopify", "shop": "demo", "access_token": "shpat_old"})
    db.dispose()

    settings = Settings(data_dir=data, database_url=db_url, media_backend="none")
    with TestClient(create_app(settings)) as client:
        svc = services_of(client.app)
        with svc.db.session() as s:
            ep = s.get(WebhookEndpoint, "wh_1")
            app = s.get(App, tenant.id)
            assert ep is not None and app is not None
            secret_token, crm_token = ep.secret_encrypted, app.crm_config["access_token"]
        assert secret_token.startswith(CURRENT) and svc.webhooks.box.decrypt(secret_token) == "whsec_legacy"
        assert crm_token.startswith("enc:v1:" + CURRENT)
        assert svc.crm.credentials.open({"access_token": crm_token})["access_token"] == "shpat_old"
    # the new tokens need the master key: the signing key alone opens nothing
    with pytest.raises(ValueError):
        SecretBox(signing).decrypt(secret_token)
    assert SecretBox(signing, master_key=load_master_key(data)).decrypt(secret_token) == "whsec_legacy"
