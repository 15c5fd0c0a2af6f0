"""`shopcall privacy export|erase` on a data folder (SQLite, local storage)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from shopcall.cli import app
from shopcall.config import Settings
from shopcall.db.engine import Database
from shopcall.recording.storage import LocalStorage
from shopcall.rooms.apps import create_app as create_tenant
from tests.privacy.seed import seed_shopper

runner = CliRunner()


def test_cli_exports_and_erases_a_shopper(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = Database(Settings(data_dir=data).db_url)
    db.migrate()
    tenant, _ = create_tenant(db, "Shop")
    sara = seed_shopper(db, LocalStorage(data / "recordings"), data / "recordings-raw", tenant.id, "sara",
                        ip="203.0.113.77")
    db.dispose()
    out = tmp_path / "sara.zip"
    r = runner.invoke(app, ["privacy", "export", "--app", tenant.id, sara.email, "--out", str(out),
                            "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    assert f"recordings/{sara.recordings[0]}.mp4" in zipfile.ZipFile(out).namelist()
    refused = runner.invoke(app, ["privacy", "erase", "--app", tenant.id, sara.email, "--data-dir", str(data)])
    assert refused.exit_code == 2
    r = runner.invoke(app, ["privacy", "erase", "--app", tenant.id, sara.identity, "--yes", "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["removed"]["customers.deleted"] == 1
    again = runner.invoke(app, ["privacy", "erase", "--app", tenant.id, sara.identity, "--yes",
                                "--data-dir", str(data)])
    assert again.exit_code == 2
