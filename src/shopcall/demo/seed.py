"""Idempotent demo data. The demo app has a fixed id so URLs and tests stay stable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopcall.console.accounts import upsert_agent
from shopcall.db.engine import Database
from shopcall.db.models import Agent, App, Customer, Order, Product, utcnow
from shopcall.rooms.apps import create_app

DEMO_APP_ID = "app_demo"

PRODUCTS = [
    ("NA-H1", "Aurora H1 Wireless Headphones", 34900, "headphones", "Headphones",
     "Over-ear, adaptive noise cancelling, 40 h battery, hand-stitched leather headband."),
    ("NA-S2", "Fjord S2 Bookshelf Speakers (pair)", 79900, "speaker", "Speakers",
     "Two-way passive speakers with 6.5\" birch-cone woofers; warm, detailed and room-filling."),
    ("NA-E3", "Polar E3 True Wireless Earbuds", 19900, "earbuds", "Headphones",
     "Featherweight earbuds with spatial audio, IPX5 and wireless charging case."),
    ("NA-T4", "Midnight T4 Turntable", 59900, "turntable", "Turntables",
     "Belt-driven, carbon tonearm, built-in phono stage; plays 33 and 45 rpm."),
    ("NA-A5", "Nordlys A5 Integrated Amplifier", 129900, "amp", "Amplifiers",
     "2 x 80 W class A/B, MM phono, DAC with USB-C and optical inputs."),
]
AGENTS = [("anna", "Anna Lindqvist", "anna@nordlys.example", "admin", ["en", "sv", "de"], ["Headphones", "Speakers"]),
          ("ben", "Ben Okafor", "ben@nordlys.example", "agent", ["en", "fr"],
           ["Turntables", "Amplifiers", "Headphones"])]
DEMO_PASSWORD = "demo"  # shown on the demo console's sign-in page
# Shop pages on this machine, on any port, may use the demo app's widget (a second local origin in tests).
DEMO_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*"]
# The Nordlys brand on the widget (PATCH /v1/settings widget.theme does the same for a real shop).
DEMO_THEME = {"accent": "#0c7c6f", "accent_text": "#ffffff", "background": "#ffffff", "text": "#17191c", "radius": 16}
CUSTOMERS = [
    ("cus_1001", "Maja Berg", "maja@example.com", [("NA-E3", 1, 19900, 220), ("NA-H1", 1, 34900, 35)]),
    ("cus_1002", "Tom Fischer", "tom@example.com", [("NA-S2", 1, 79900, 400)]),
    ("cus_1003", "Lea Rossi", "lea@example.com", []),
    ("cus_1004", "Jonas Weber", "jonas@example.com", [("NA-T4", 1, 59900, 90), ("NA-A5", 1, 129900, 60),
                                                     ("NA-E3", 2, 19900, 10)]),
]


def seed_demo(db: Database) -> str:
    """Create the demo shop if missing; return its app id."""
    with db.session() as s:
        exists = s.get(App, DEMO_APP_ID) is not None
    if exists:
        _ensure_agents(db)
        _ensure_origins(db)
        return DEMO_APP_ID
    create_app(db, "Nordlys Audio (demo)", app_id=DEMO_APP_ID)
    with db.session() as s:
        demo_app = s.get_one(App, DEMO_APP_ID)
        # a short skills wait so a demo call always reaches someone quickly
        demo_app.routing = {"ring_timeout_s": 20, "fallback_after_s": 8, "max_wait_s": 600}
        demo_app.recording_policy, demo_app.recording_consent, demo_app.retention_days = "on_demand", True, 90
        demo_app.widget = {"allowed_origins": list(DEMO_ORIGINS), "theme": dict(DEMO_THEME)}
        for sku, title, price, img, cat, desc in PRODUCTS:
            s.add(Product(app_id=DEMO_APP_ID, sku=sku, title=title, price_cents=price, currency="EUR",
                          image_url=f"/static/demo/img/{img}.svg", description=desc, category=cat))
        now = utcnow()
        for ext, name, email, orders in CUSTOMERS:
            c = Customer(app_id=DEMO_APP_ID, external_id=ext, name=name, email=email)
            s.add(c)
            for i, (sku, qty, price, days_ago) in enumerate(orders):
                c.orders.append(Order(external_id=f"{ext}-o{i + 1}", placed_at=now - timedelta(days=days_ago),
                                      total_cents=qty * price, currency="EUR",
                                      items=[{"sku": sku, "qty": qty, "price_cents": price}]))
    _ensure_agents(db)
    return DEMO_APP_ID


def _ensure_agents(db: Database) -> None:
    """Demo agents with the demo password (also upgrades demo data made before accounts existed)."""
    with db.session() as s:
        have = {a.identity: a.password_hash for a in s.scalars(select(Agent).where(Agent.app_id == DEMO_APP_ID))}
    for identity, name, email, role, langs, cats in AGENTS:
        if have.get(identity):
            continue
        upsert_agent(db, DEMO_APP_ID, identity, name=name, email=email, password=DEMO_PASSWORD, role=role,
                     languages=langs, categories=cats)


def _ensure_origins(db: Database) -> None:
    """Demo data made before allowed origins existed gets the local ones; a list someone set stays."""
    with db.session() as s:
        demo_app = s.get_one(App, DEMO_APP_ID)
        if "allowed_origins" not in (demo_app.widget or {}):
            demo_app.widget = {**(demo_app.widget or {}), "allowed_origins": list(DEMO_ORIGINS)}
        if "theme" not in (demo_app.widget or {}):
            demo_app.widget = {**(demo_app.widget or {}), "theme": dict(DEMO_THEME)}


def demo_products(db: Database) -> list[Product]:
    with db.session() as s:
        return list(s.scalars(select(Product).where(Product.app_id == DEMO_APP_ID).order_by(Product.id)))


def demo_agents(db: Database) -> list[Agent]:
    with db.session() as s:
        return list(s.scalars(select(Agent).where(Agent.app_id == DEMO_APP_ID).order_by(Agent.id)))


def demo_customers(db: Database) -> list[Customer]:
    with db.session() as s:
        return list(s.scalars(select(Customer).where(Customer.app_id == DEMO_APP_ID).order_by(Customer.id)))
