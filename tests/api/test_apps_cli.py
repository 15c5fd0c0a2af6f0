"""`shopcall apps list`: the operator finds app ids (for --app, data-app, the demo) and names."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopcall.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPCALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPCALL_CONFIG", raising=False)


def _create(tmp_path: Path, name: str) -> str:
    r = runner.invoke(app, ["apps", "create", name, "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    return str(json.loads(r.stdout)["app_id"])


def test_apps_list_prints_ids_and_names_oldest_first(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["apps", "list", "--data-dir", str(tmp_path)])
    assert empty.exit_code == 0 and empty.stdout == "" and "no apps yet" in empty.output
    first, second = _create(tmp_path, "Corner Shop"), _create(tmp_path, "Café Ünïcode\tTab")
    r = runner.invoke(app, ["apps", "list", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert [(row[0], row[1]) for row in rows] == [(first, "Corner Shop"), (second, "Café Ünïcode Tab")]
    assert all(len(row) == 3 for row in rows)  # id, name, created: a tab in a name does not add a column
    assert "sk_" not in r.stdout  # never a secret
    listed = json.loads(runner.invoke(app, ["apps", "list", "--json", "--data-dir", str(tmp_path)]).stdout)
    assert [(a["app_id"], a["name"]) for a in listed] == [(first, "Corner Shop"), (second, "Café Ünïcode\tTab")]
    assert all(a["created_at"] for a in listed) and set(listed[0]) == {"app_id", "name", "created_at", "region"}
