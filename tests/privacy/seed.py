"""A shopper with everything a shopper can leave behind, in real rows and real storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from shopcall.db.engine import Database
from shopcall.db.models import (
    AuditEntry,
    Call,
    CallbackRequest,
    CallNote,
    ChatMessage,
    ConsentDecision,
    Customer,
    Order,
    Participant,
    QualitySample,
    Recording,
    Room,
    RoomEvent,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from shopcall.recording.storage import RecordingStorage, recording_key


@dataclass
class Shopper:
    identity: str
    customer_id: str
    name: str
    email: str
    ip: str
    calls: list[str]
    recordings: list[str]
    raw_folders: list[Path]

    def needles(self) -> list[str]:
        return [self.identity, self.customer_id, self.name, self.email, self.ip]


def seed_shopper(db: Database, storage: RecordingStorage, raw_root: Path, app_id: str, tag: str, *,
                 ip: str, age_days: float = 0) -> Shopper:
    """Two calls (one recorded), chat, notes, a visit with an IP, quality samples, a callback, consents, a
    customer with an order, a queued webhook and an audit entry naming the shopper; `age_days` back-dates it all."""
    t = utcnow() - timedelta(days=age_days)
    sh = Shopper(identity=f"shopper-{tag}", customer_id=f"cus-{tag}", name=f"Name{tag.title()} Person{tag}",
                 email=f"{tag}@mail.example", ip=ip, calls=[], recordings=[], raw_folders=[])
    with db.session() as s:
        cust = Customer(app_id=app_id, external_id=sh.customer_id, name=sh.name, email=sh.email)
        cust.orders.append(Order(external_id=f"ord-{tag}", total_cents=12900, placed_at=t))
        s.add(cust)
        ep = WebhookEndpoint(id=f"wh_{tag}", app_id=app_id, url="https://hooks.example.com/x", events=["*"],
                             secret_encrypted="x")
        s.add(ep)
        for n in range(2):
            room_id, call_id = f"room_{tag}{n}", f"call_{tag}{n}"
            s.add(Room(id=room_id, app_id=app_id, name=f"call {n}", created_at=t))
            s.flush()
            s.add(Call(id=call_id, app_id=app_id, room_id=room_id, shopper_identity=sh.identity,
                       shopper_name=sh.name, agent_identity="anna", status="ended", customer_id=sh.customer_id,
                       context={"product": "SKU-1", "visit": {"pages": ["/p/1"], "ip": sh.ip}}, created_at=t,
                       ended_at=t + timedelta(minutes=5), outcome="sold"))
            s.add(Participant(id=f"p_{tag}{n}", room_id=room_id, identity=sh.identity, display_name=sh.name,
                              role="shopper", joined_at=t))
            s.add(Participant(id=f"pa_{tag}{n}", room_id=room_id, identity="anna", display_name="Anna",
                              role="agent", joined_at=t))
            s.flush()
            s.add(ChatMessage(id=f"m_{tag}{n}", room_id=room_id, identity=sh.identity, name=sh.name, role="shopper",
                              text=f"hi, mail me at {sh.email}", created_at=t))
            s.add(ChatMessage(id=f"ma_{tag}{n}", room_id=room_id, identity="anna", name="Anna", role="agent",
                              text=f"Sure {sh.name}, I will write to {sh.email}", created_at=t))
            s.add(RoomEvent(app_id=app_id, room_id=room_id, kind="card_click", identity=sh.identity,
                            data={"sku": "SKU-1"}, created_at=t))
            s.add(RoomEvent(app_id=app_id, room_id=room_id, kind="product_card", identity="anna",
                            data={"sku": "SKU-1", "for": sh.name}, created_at=t))
            s.add(QualitySample(app_id=app_id, room_id=room_id, pid=f"p_{tag}{n}", identity=sh.identity,
                                mos=4.1, data={"path": "direct", "candidate": sh.ip}, created_at=t))
            s.add(CallNote(app_id=app_id, call_id=call_id, agent_identity="anna", customer_id=sh.customer_id,
                           text=f"{sh.name} wants the blue one", outcome="sold", created_at=t))
            sh.calls.append(call_id)
        s.add(ConsentDecision(app_id=app_id, room_id=f"room_{tag}0", recording_id=f"rec_{tag}",
                              identity=sh.identity, decision="granted", decided_at=t))
        s.add(CallbackRequest(id=f"cb_{tag}", app_id=app_id, name=sh.name, contact=sh.email, note="after 6 pm",
                              context={"identity": sh.identity, "customer": sh.customer_id, "ip": sh.ip},
                              created_at=t))
        s.add(WebhookDelivery(id=f"d_{tag}", app_id=app_id, endpoint_id=ep.id, event_id=f"evt_{tag}",
                              event_type="call.ended", status="pending", created_at=t,
                              payload={"shopper": sh.identity, "name": sh.name, "customer_id": sh.customer_id}))
        s.add(AuditEntry(app_id=app_id, actor=f"shopper:{sh.identity}", action="consent.granted",
                         details={"recording": f"rec_{tag}"}, created_at=t))
    # one recording: the composite in storage and a raw folder
    rec_id = f"rec_{tag}"
    folder = raw_root / rec_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "track-audio.mjr").write_bytes(b"MJR00002" + sh.identity.encode() + b"\0" * 500)
    src = raw_root / f"{rec_id}.mp4"
    src.write_bytes(b"\0\0\0\x18ftypmp42" + tag.encode() * 4000)
    key = recording_key(app_id, "local", rec_id, "composite.mp4")
    size = storage.put_file(key, src, "video/mp4")
    src.unlink()
    with db.session() as s:
        s.add(Recording(id=rec_id, app_id=app_id, room_id=f"room_{tag}0", call_id=f"call_{tag}0", status="ready",
                        agent_identity="anna", customer_id=sh.customer_id, started_at=t, folder=str(folder),
                        storage_key=key, size_bytes=size))
    sh.recordings.append(rec_id)
    sh.raw_folders.append(folder)
    return sh
