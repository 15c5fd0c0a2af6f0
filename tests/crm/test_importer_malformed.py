"""`shopcall crm import` with malformed CSV: a 200 KB cell, an unclosed quote, NUL bytes and bad encodings
each give an error naming the row (and column where it can be known), and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shopcall.cli import app as cli
from shopcall.crm.importer import CrmImportError, import_file
from shopcall.db.engine import Database
from shopcall.db.models import Customer, Order
from shopcall.rooms.apps import create_app

HEADER = "customer_id,name,email,order_id,placed_at,currency,order_total\n"
GOOD = "cus_1,Mia Jensen,mia@example.com,ord_1,2024-05-02T10:15:00Z,EUR,10.00\n"
LAST = "cus_3,Lea Berg,lea@example.com,ord_3,2024-05-04T10:15:00Z,EUR,30.00\n"


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Customer)) or 0,
                s.scalar(select(func.count()).select_from(Order)) or 0)


def _rejected(db: Database, tmp_path: Path, content: bytes) -> list[str]:
    a, _ = create_app(db, "Shop")
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    with pytest.raises(CrmImportError) as e:
        import_file(db, a.id, path)
    assert _counts(db) == (0, 0)  # all rows or none
    return e.value.errors


def test_a_200_kb_cell_names_its_row(db: Database, tmp_path: Path) -> None:
    big = "x" * 200_000
    errors = _rejected(db, tmp_path, (HEADER + GOOD + f"cus_2,{big},b@example.com,,,,\n" + LAST).encode())
    assert len(errors) == 1 and errors[0].startswith("row 3: a cell is longer than"), errors


def test_a_long_cell_under_the_csv_limit_names_row_and_column(db: Database, tmp_path: Path) -> None:
    errors = _rejected(db, tmp_path, (HEADER + GOOD + f"cus_2,{'y' * 50_000},b@example.com,,,,\n").encode())
    assert errors == ["row 3, column name: is 50000 characters long (at most 10000)"]


def test_an_unclosed_quote_does_not_swallow_the_rest_of_the_file(db: Database, tmp_path: Path) -> None:
    errors = _rejected(db, tmp_path, (HEADER + GOOD + 'cus_2,"Ben Olsen,ben@example.com,,,,\n' + LAST).encode())
    assert errors == ['row 3: a quoted cell is never closed (its " runs to the end of the file)']


def test_a_quote_closed_rows_later_is_reported_too(db: Database, tmp_path: Path) -> None:
    content = HEADER + GOOD + 'cus_2,"Ben Olsen,ben@example.com,,,,\n' + LAST + 'cus_4,"Ola",o@example.com,,,,\n'
    errors = _rejected(db, tmp_path, content.encode())
    assert errors and errors[0].startswith("row 3"), errors


def test_nul_bytes_are_refused_with_row_and_column(db: Database, tmp_path: Path) -> None:
    errors = _rejected(db, tmp_path, (HEADER + GOOD + "cus_2,Ben\x00Olsen,ben@example.com,,,,\n" + LAST).encode())
    assert errors == ["row 3, column name: contains a NUL character"]


def test_bad_encodings_name_the_row(db: Database, tmp_path: Path) -> None:
    latin1 = (HEADER + GOOD + GOOD.replace("cus_1", "cus_2") + "cus_5,José Núñez,j@example.com,,,,\n").encode("latin-1")
    assert _rejected(db, tmp_path, latin1) == [
        "row 4: not UTF-8 (byte 0xe9 at character 10); save the file as UTF-8"]


def test_utf16_is_named(db: Database, tmp_path: Path) -> None:
    errors = _rejected(db, tmp_path, (HEADER + GOOD).encode("utf-16"))
    assert errors == ["the file is UTF-16: save it as UTF-8 (CSV UTF-8 in a spreadsheet)"]


def test_the_cli_reports_the_row_and_writes_nothing(db: Database, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPCALL_DATABASE_URL", db.url)
    monkeypatch.delenv("SHOPCALL_CONFIG", raising=False)
    a, _ = create_app(db, "Shop")
    path = tmp_path / "big.csv"
    path.write_text(HEADER + GOOD + f"cus_2,{'x' * 200_000},b@example.com,,,,\n")
    r = CliRunner().invoke(cli, ["crm", "import", "--app", a.id, "--data-dir", str(tmp_path), str(path)])
    assert r.exit_code == 2 and "import rejected, nothing was written" in r.output, r.output
    assert "row 3: a cell is longer than" in r.output
    assert _counts(db) == (0, 0)
