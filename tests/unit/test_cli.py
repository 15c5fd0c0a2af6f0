"""The CLI as an operator uses it: apps create, token, openapi."""

import json
from pathlib import Path

from typer.testing import CliRunner

from shopcall.auth import tokens
from shopcall.auth.secrets import hash_secret, load_signing_key
from shopcall.cli import app
from shopcall.db.engine import Database
from shopcall.db.models import App

runner = CliRunner()


def test_apps_create_then_token(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPCALL_SIGNING_KEY", raising=False)
    monkeypatch.delenv("SHOPCALL_DATABASE_URL", raising=False)
    r = runner.invoke(app, ["apps", "create", "Corner Shop", "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    db = Database(f"sqlite:///{tmp_path / 'shopcall.db'}")
    with db.session() as s:
        row = s.get(App, out["app_id"])
        assert row is not None and row.name == "Corner Shop" and row.secret_hash == hash_secret(out["secret"])
    r = runner.invoke(app, ["token", "--app", out["app_id"], "--identity", "anna", "--role", "agent",
                            "--room", "*", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    claims = tokens.verify(load_signing_key(tmp_path), r.stdout.strip())
    assert (claims.app_id, claims.identity, claims.role, claims.rooms) == (out["app_id"], "anna", "agent", ("*",))


def test_token_errors_are_clear(tmp_path: Path) -> None:
    r = runner.invoke(app, ["token", "--app", "app_missing", "--identity", "x", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "no app 'app_missing'" in r.output
    out = json.loads(runner.invoke(app, ["apps", "create", "S", "--data-dir", str(tmp_path), "--json"]).stdout)
    r = runner.invoke(app, ["token", "--app", out["app_id"], "--identity", "x", "--role", "root",
                            "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "role must be one of" in r.output


def test_committed_openapi_is_current() -> None:
    r = runner.invoke(app, ["openapi"])
    assert r.exit_code == 0
    committed = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
    assert json.loads(committed.read_text()) == json.loads(r.stdout), "regenerate: shopcall openapi > docs/openapi.json"


def test_agents_create_stores_an_argon2_hash_and_skills(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPCALL_DATABASE_URL", raising=False)
    out = json.loads(runner.invoke(app, ["apps", "create", "Shop", "--data-dir", str(tmp_path), "--json"]).stdout)
    r = runner.invoke(app, ["agents", "create", "--app", "app_nope", "--identity", "x", "--name", "X",
                            "--password", "pw-123-long-enough", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "no app" in r.output
    r = runner.invoke(app, ["agents", "create", "--app", out["app_id"], "--identity", "anna", "--name", "Anna",
                            "--language", "en", "--language", "de", "--category", "Headphones", "--max-calls", "2",
                            "--data-dir", str(tmp_path)], input="s3cret-long-pw!\ns3cret-long-pw!\n")
    assert r.exit_code == 0, r.output
    from shopcall.console.accounts import authenticate

    db = Database(f"sqlite:///{tmp_path / 'shopcall.db'}")
    agent = authenticate(db, out["app_id"], "anna", "s3cret-long-pw!")
    assert (agent.languages, agent.categories, agent.max_concurrent) == (["en", "de"], ["Headphones"], 2)
    assert "s3cret" not in r.output
