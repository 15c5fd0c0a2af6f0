"""`shopcall crm import`: both formats, upserts, row-numbered errors, all-or-nothing, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shopcall.cli import app as cli
from shopcall.crm import CrmLookup, lookup_with_deadline
from shopcall.crm import importer as importer_mod
from shopcall.crm.builtin import BuiltinConnector
from shopcall.crm.importer import CrmImportError, ImportSummary, import_file, parse_csv, parse_json
from shopcall.db.engine import Database
from shopcall.db.models import Customer, Order
from shopcall.rooms.apps import create_app

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Customer)), s.scalar(select(func.count()).select_from(Order))


@pytest.mark.parametrize("name", ["customers.json", "customers.csv"])
async def test_example_files_import_and_read_back(db, name: str) -> None:
    a, _ = create_app(db, "Shop")
    s = import_file(db, a.id, DATA / name)
    assert (s.customers_created, s.orders_created, s.customers_updated, s.orders_updated) == (3, 3, 0, 0)
    p = (await lookup_with_deadline(BuiltinConnector(db, a.id), CrmLookup(email="mia@example.com"))).profile
    assert (p.external_id, p.name, p.orders_count, p.lifetime_value, p.currency) == ("cus_1001", "Mia Jensen", 2,
                                                                                    198.8, "EUR")
    newest, older = p.orders
    assert (newest.external_id, newest.total) == ("ord_5002", 49.0)  # no total given: quantity × price
    assert [(i.title, i.sku, i.quantity, i.price) for i in older.items] == [
        ("Nordlys H1 headphones", "NA-H1", 1, 129.9), ("Ear cushions", "NA-C1", 1, 19.9)]
    assert older.placed_at.isoformat() == "2024-05-02T08:15:00+00:00"
    lea = (await lookup_with_deadline(BuiltinConnector(db, a.id), CrmLookup(customer_id="cus_1003"))).profile
    assert (lea.email, lea.orders_count) == (None, 0)


def test_csv_and_json_examples_say_the_same() -> None:
    as_json = parse_json((DATA / "customers.json").read_text())
    as_csv = parse_csv((DATA / "customers.csv").read_text())
    assert [c.model_dump() for c in as_csv] == [c.model_dump() for c in as_json]


def test_reimport_is_idempotent_and_updates_by_external_id(db, tmp_path: Path) -> None:
    a, _ = create_app(db, "Shop")
    import_file(db, a.id, DATA / "customers.json")
    again = import_file(db, a.id, DATA / "customers.json")
    assert again == ImportSummary(customers_unchanged=3, orders_unchanged=3)
    data = json.loads((DATA / "customers.json").read_text())
    data["customers"][0]["name"] = "Mia Jensen-Holm"
    data["customers"][1]["orders"][0]["total"] = 750
    data["customers"][1]["orders"].append({"external_id": "ord_9", "placed_at": "2024-07-01", "currency": "eur",
                                           "total": "1.5"})
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    s = import_file(db, a.id, changed)
    assert (s.customers_updated, s.customers_unchanged, s.orders_updated, s.orders_created) == (1, 2, 1, 1)
    assert _counts(db) == (3, 4)
    with db.session() as ses:
        o = ses.scalar(select(Order).where(Order.external_id == "ord_9"))
        assert (o.total_cents, o.currency) == (150, "EUR")


def test_same_ids_in_two_apps_stay_apart(db) -> None:
    a, _ = create_app(db, "Shop A")
    b, _ = create_app(db, "Shop B")
    import_file(db, a.id, DATA / "customers.csv")
    s = import_file(db, b.id, DATA / "customers.json")
    assert s.customers_created == 3 and _counts(db) == (6, 6)


def test_bad_rows_are_reported_by_number_and_nothing_is_written(db) -> None:
    a, _ = create_app(db, "Shop")
    with pytest.raises(CrmImportError) as e:
        import_file(db, a.id, DATA / "bad_rows.csv")
    errors = e.value.errors
    assert len(errors) == 3
    assert errors[0] == "row 3: order_total: Input should be greater than or equal to 0"
    assert errors[1].startswith("row 4: placed_at: Input should be a valid datetime")
    assert errors[2] == "row 5: currency of order ord_1 differs from row 2"
    assert _counts(db) == (0, 0)  # row 2 was fine, but the file is all or nothing


def test_json_errors_name_the_customer_and_field() -> None:
    bad = [
        {"external_id": "c1", "name": "A", "orders": [{"external_id": "o1", "placed_at": "2024-01-01",
                                                       "currency": "EURO", "total": 1.234}]},
        {"external_id": "c2", "name": "", "email": "not-an-email", "phone": "1"},
        {"external_id": "c1", "name": "Again"},
        {"external_id": "c3", "name": "C", "orders": [{"external_id": "o", "placed_at": "2024-01-01",
                                                       "currency": "EUR"}]},
    ]
    with pytest.raises(CrmImportError) as e:
        parse_json(json.dumps(bad))
    msgs = e.value.errors
    assert "customer #1 (c1): orders[0].currency: String should match pattern '^[A-Za-z]{3}$'" in msgs
    assert "customer #1 (c1): orders[0].total: Decimal input should have no more than 2 decimal places" in msgs
    assert "customer #2 (c2): name: String should have at least 1 character" in msgs
    assert "customer #2 (c2): phone: Extra inputs are not permitted" in msgs
    assert any(m.startswith("customer #2 (c2): email: String should match pattern") for m in msgs)
    assert "customer #3 (c1): external_id also used by customer #1" in msgs
    assert "customer #4 (c3): orders[0]: total is required when the order has no items" in msgs
    with pytest.raises(CrmImportError, match="not valid JSON: line 1 column 2"):
        parse_json("[")
    with pytest.raises(CrmImportError, match="unknown column"):
        parse_csv("customer_id,name,mail\nc,n,e\n")


def test_a_failure_while_writing_rolls_everything_back(db, monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = create_app(db, "Shop")
    real = importer_mod._upsert_order
    calls = 0

    def flaky(*args, **kw):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk full")
        return real(*args, **kw)

    monkeypatch.setattr(importer_mod, "_upsert_order", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(db, a.id, DATA / "customers.json")
    assert _counts(db) == (0, 0)  # customers were flushed before the failure; none survived


def test_unknown_app_and_dry_run(db) -> None:
    with pytest.raises(CrmImportError, match="no app 'app_nope'"):
        import_file(db, "app_nope", DATA / "customers.json")
    a, _ = create_app(db, "Shop")
    s = import_file(db, a.id, DATA / "customers.csv", dry_run=True)
    assert (s.customers_created, s.orders_created, s.dry_run) == (3, 3, True) and _counts(db) == (0, 0)


def test_cli_import(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPCALL_DATABASE_URL", db.url)
    monkeypatch.delenv("SHOPCALL_CONFIG", raising=False)
    a, _ = create_app(db, "Shop")
    args = ["crm", "import", "--app", a.id, "--data-dir", str(tmp_path)]
    r = runner.invoke(cli, [*args, str(DATA / "customers.csv")])
    assert r.exit_code == 0, r.output
    assert "3 customers, 3 orders, valid" in r.output and f"Imported into app {a.id}" in r.stdout
    assert [line.split() for line in r.stdout.splitlines() if "customers" in line or "orders" in line][-2:] == [
        ["│", "customers", "│", "3", "│", "0", "│", "0", "│"], ["│", "orders", "│", "3", "│", "0", "│", "0", "│"]]
    assert _counts(db) == (3, 3)

    r = runner.invoke(cli, [*args, str(DATA / "bad_rows.csv")])
    assert r.exit_code == 2 and "import rejected, nothing was written" in r.output
    assert "row 4: placed_at: Input should be a valid datetime" in r.output
    renamed = tmp_path / "customers.txt"
    renamed.write_text((DATA / "customers.json").read_text())
    r = runner.invoke(cli, [*args, str(renamed)])
    assert r.exit_code == 2 and "use a .csv or .json file or --format" in r.output
    r = runner.invoke(cli, [*args, str(renamed), "--format", "json"])
    assert r.exit_code == 0 and "│ customers │       0 │       0 │         3 │" in r.stdout
    r = runner.invoke(cli, [*args, str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "no such file" in r.output
    r = runner.invoke(cli, ["crm", "import", "--app", "app_nope", "--data-dir", str(tmp_path),
                            str(DATA / "customers.json")])
    assert r.exit_code == 2 and "no app 'app_nope'" in r.output
    assert _counts(db) == (3, 3)
