"""Models and the room store on both SQLite and PostgreSQL (fixture `db` is parametrised)."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shopcall.db.models import App, Call, Participant, Room
from shopcall.demo.seed import DEMO_APP_ID, demo_products, seed_demo
from shopcall.rooms.apps import app_exists, create_app
from shopcall.rooms.store import RoomStore


def test_migrations_create_tables_and_are_idempotent(db) -> None:
    db.migrate()
    app, secret = create_app(db, "Shop")
    with db.session() as s:
        stored = s.get(App, app.id)
        assert stored is not None and stored.secret_hash != secret and len(stored.secret_hash) == 64
    assert app_exists(db, app.id) and not app_exists(db, "app_nope")


def test_room_lifecycle_rows(db) -> None:
    app, _ = create_app(db, "Shop")
    store = RoomStore(db)
    room = store.create_room(app.id, name="r", kind="call", max_participants=2)
    pid = store.add_participant(room.id, "bob", "Bob", "shopper")
    assert store.end_room(room.id, "ended_by_api") is True
    assert store.end_room(room.id, "again") is False
    with db.session() as s:
        r = s.get(Room, room.id)
        p = s.get(Participant, pid)
        assert r.status == "ended" and r.end_reason == "ended_by_api" and r.ended_at is not None
        assert p.left_at is not None and p.leave_reason == "room_ended"


def test_exactly_one_agent_claims_a_call(db) -> None:
    app, _ = create_app(db, "Shop")
    store = RoomStore(db)
    room = store.create_room(app.id)
    call = store.create_call(app.id, room.id, "bob", "Bob", {"product": "NA-H1"})
    with ThreadPoolExecutor(8) as ex:
        wins = list(ex.map(lambda i: store.claim_call(call.id, f"agent{i}"), range(8)))
    assert wins.count(True) == 1
    with db.session() as s:
        c = s.get(Call, call.id)
        assert c.status == "answered" and c.agent_identity == f"agent{wins.index(True)}"
        assert c.context == {"product": "NA-H1"}


def test_demo_seed_idempotent(db) -> None:
    assert seed_demo(db) == DEMO_APP_ID
    seed_demo(db)
    products = demo_products(db)
    assert len(products) == 5 and all(p.price_cents > 0 and p.image_url for p in products)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(App)) == 1
