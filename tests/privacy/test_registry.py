"""No table with shopper data can be forgotten by export and erasure."""

from __future__ import annotations

from pathlib import Path

from shopcall.db.models import Base
from shopcall.privacy.registry import NOT_SHOPPER_DATA, sources
from shopcall.recording.storage import LocalStorage

# Column names that hold, or may hold, personal data (identities, names, contact data, free text, JSON).
PERSONAL = ("identity", "name", "email", "contact", "customer", "text", "note", "context", "data", "payload",
            "details", "actor", "ip", "items", "log", "folder", "storage_key")


def _personal_columns(table) -> list[str]:
    return [c.name for c in table.columns if any(p in c.name for p in PERSONAL)]


def test_every_table_is_covered_by_a_source_or_declared_free_of_shopper_data(tmp_path: Path) -> None:
    covered: dict[str, str] = {}
    for src in sources(None, LocalStorage(tmp_path)):  # type: ignore[arg-type]
        for t in src.tables:
            assert t not in covered, f"{t} is covered by both {covered[t]} and {src.name}"
            covered[t] = src.name
    tables = set(Base.metadata.tables)
    assert set(covered) <= tables, f"sources name tables that do not exist: {set(covered) - tables}"
    missing = [f"{t} ({', '.join(_personal_columns(Base.metadata.tables[t]))})" for t in sorted(tables)
               if t not in covered and t not in NOT_SHOPPER_DATA]
    assert not missing, ("these tables are neither covered by a subject data source (shopcall/privacy/registry.py) "
                         f"nor listed in NOT_SHOPPER_DATA with a reason: {missing}")
    both = set(covered) & set(NOT_SHOPPER_DATA)
    assert not both, f"covered and declared free of shopper data at once: {both}"


def test_the_check_catches_a_new_table() -> None:
    from sqlalchemy import Column, MetaData, String, Table

    t = Table("shopper_wishlists", MetaData(), Column("identity", String), Column("email", String))
    assert _personal_columns(t) == ["identity", "email"]
    assert "shopper_wishlists" not in NOT_SHOPPER_DATA
