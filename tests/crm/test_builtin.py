"""The built-in store on SQLite and PostgreSQL: lookups, cents to units, tenant isolation, outages."""

from __future__ import annotations

from datetime import UTC, datetime

from shopcall.crm import CrmLookup, lookup_with_deadline
from shopcall.crm.builtin import BuiltinConnector
from shopcall.db.engine import Database
from shopcall.db.models import Customer, Order
from shopcall.demo.seed import DEMO_APP_ID, seed_demo
from shopcall.rooms.apps import create_app
from tests.crm.conftest import GENERIC


def _add(db: Database, app_id: str, ext: str, name: str, email: str | None, orders: list[Order]) -> None:
    with db.session() as s:
        c = Customer(app_id=app_id, external_id=ext, name=name, email=email)
        c.orders.extend(orders)
        s.add(c)


async def test_lookup_by_id_and_email_within_one_app_only(db) -> None:
    a, _ = create_app(db, "Shop A")
    b, _ = create_app(db, "Shop B")
    _add(db, a.id, "cus_1", "Ada A", "ada@example.com", [
        Order(external_id="o1", placed_at=datetime(2024, 3, 1, 12), total_cents=12990, currency="EUR",
              items=[{"title": "Headphones", "sku": "NA-H1", "qty": 1, "price_cents": 12990}]),
        Order(external_id="o2", placed_at=datetime(2024, 4, 1, 12), total_cents=1005, currency="EUR", items=[]),
        Order(external_id="o3", placed_at=datetime(2023, 1, 1), total_cents=5000, currency="USD", items=[]),
    ])
    _add(db, b.id, "cus_1", "Bea B", "bea@example.com", [])  # same external id, other tenant
    _add(db, a.id, "cus_only_a", "Only A", "only-a@example.com", [])

    conn_a, conn_b = BuiltinConnector(db, a.id), BuiltinConnector(db, b.id)
    r = await lookup_with_deadline(conn_a, CrmLookup(customer_id="cus_1"))
    assert r.status == "ok" and r.source == "builtin"
    p = r.profile
    assert (p.name, p.email, p.orders_count) == ("Ada A", "ada@example.com", 3)
    assert [o.external_id for o in p.orders] == ["o2", "o1", "o3"]  # newest first
    assert p.orders[1].placed_at == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert [(i.title, i.sku, i.quantity, i.price) for i in p.orders[1].items] == [("Headphones", "NA-H1", 1, 129.9)]
    # cents to units, in the latest order's currency (USD cannot be added to EUR)
    assert (p.lifetime_value, p.currency) == (139.95, "EUR")

    assert (await lookup_with_deadline(conn_b, CrmLookup(customer_id="cus_1"))).profile.name == "Bea B"
    r = await lookup_with_deadline(conn_a, CrmLookup(email="ADA@example.com"))
    assert r.status == "ok" and r.profile.external_id == "cus_1"
    # tenant isolation: B sees neither A's customer by id nor by email
    assert (await lookup_with_deadline(conn_b, CrmLookup(customer_id="cus_only_a"))).status == "not_found"
    assert (await lookup_with_deadline(conn_b, CrmLookup(email="only-a@example.com"))).status == "not_found"
    assert (await lookup_with_deadline(conn_b, CrmLookup(email="ada@example.com"))).status == "not_found"
    # unknown id falls back to the email
    r = await lookup_with_deadline(conn_a, CrmLookup(customer_id="cus_x", email="only-a@example.com"))
    assert r.profile.name == "Only A" and (r.profile.orders, r.profile.lifetime_value) == ([], 0.0)


async def test_demo_seed_rows_read_back(db) -> None:
    seed_demo(db)
    r = await lookup_with_deadline(BuiltinConnector(db, DEMO_APP_ID), CrmLookup(customer_id="cus_1004"))
    p = r.profile
    assert (p.name, p.orders_count, p.lifetime_value, p.currency) == ("Jonas Weber", 3, 2296.0, "EUR")
    # seeded items carry no title: the sku stands in
    assert [(i.title, i.quantity, i.price) for i in p.orders[0].items] == [("NA-E3", 2, 199.0)]


async def test_unreachable_database_is_unavailable_quickly() -> None:
    down = Database("postgresql://postgres@127.0.0.1:1/none")
    try:
        r = await lookup_with_deadline(BuiltinConnector(down, "app_x"), CrmLookup(customer_id="c"))
    finally:
        down.dispose()
    assert (r.status, r.error_code) == ("unavailable", "database_error")
    assert r.error == GENERIC
    assert r.elapsed_ms < 2000
