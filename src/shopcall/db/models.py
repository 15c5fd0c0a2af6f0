"""Tables. Every tenant-owned row carries `app_id` so queries can always filter by tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Times are stored as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(d: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO-8601 with `Z`, as every API and webhook payload shows it."""
    return d.isoformat() + "Z" if d else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Whole tenths of a second from `start` to `end`; None unless both are known."""
    return round((end - start).total_seconds(), 1) if start and end else None


class Base(DeclarativeBase):
    pass


class App(Base):
    """A tenant (merchant). The secret is stored as a SHA-256 digest (it is high-entropy)."""

    __tablename__ = "apps"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    # After a rotation the previous secret stays valid until `prev_secret_expires_at` (overlap window).
    prev_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    prev_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    region: Mapped[str] = mapped_column(String(40), default="local")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Per-app settings (validated by their owners: crm.factory.CrmConfig, rooms.business_hours).
    crm_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    routing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # routing.RoutingPolicy fields
    recording_policy: Mapped[str] = mapped_column(String(20), default="off")  # off | on_demand | always
    recording_consent: Mapped[bool] = mapped_column(default=True)  # ask shoppers before recording them
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None = keep
    # Days to keep each other kind of personal data (privacy.retention.KINDS); a missing kind = keep.
    retention: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The shop-page widget's settings (api.app_settings.WidgetIn): allowed origins, later its theme.
    widget: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Room(Base):
    __tablename__ = "rooms"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="call")
    status: Mapped[str] = mapped_column(String(20), default="open")
    max_participants: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    participants: Mapped[list[Participant]] = relationship(back_populates="room", cascade="all, delete-orphan")


class Participant(Base):
    """One presence of an identity in a room (a rejoin is a new row)."""

    __tablename__ = "participants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(default=None)
    leave_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    room: Mapped[Room] = relationship(back_populates="participants")


class Call(Base):
    """A shopper's request for an agent, from ringing to its end."""

    __tablename__ = "calls"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    shopper_identity: Mapped[str] = mapped_column(String(200))
    shopper_name: Mapped[str] = mapped_column(String(200), default="")
    agent_identity: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(20), default="ringing")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("app_id", "identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)  # argon2id
    role: Mapped[str] = mapped_column(String(20), default="agent")  # agent | admin
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped by a password change, disable or reset: signalling tokens carrying an older `ver` are refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # The console's language (a supported locale tag such as "de" or "zh-CN"); None: the browser's.
    locale: Mapped[str | None] = mapped_column(String(16), default=None)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    orders: Mapped[list[Order]] = relationship(back_populates="customer", cascade="all, delete-orphan")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    customer: Mapped[Customer] = relationship(back_populates="orders")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("app_id", "sku"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")


Index("ix_rooms_app_status", Room.app_id, Room.status)
Index("ix_calls_app_status", Call.app_id, Call.status)


class ChatMessage(Base):
    """Text chat, persisted with the room (and so with the call)."""

    __tablename__ = "chat_messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoomEvent(Base):
    """In-call events worth keeping: product cards, card clicks (conversion signals), annotations."""

    __tablename__ = "room_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    identity: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_room_events_room_kind", RoomEvent.room_id, RoomEvent.kind)


class AgentSession(Base):
    """A console login. Only the SHA-256 of the session cookie is stored."""

    __tablename__ = "agent_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie value
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(default=False)


class CallNote(Base):
    """What the agent wrote after (or during) a call; shown in later calls with the same customer."""

    __tablename__ = "call_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    agent_identity: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackRequest(Base):
    """A shopper asked to be called back (outside business hours)."""

    __tablename__ = "callback_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recording(Base):
    """One recording of a room (a call or a session), from start to a verified composite."""

    __tablename__ = "recordings"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    region: Mapped[str] = mapped_column(String(40), default="local")
    status: Mapped[str] = mapped_column(String(20), default="recording")  # recording|processing|ready|failed
    started_by: Mapped[str | None] = mapped_column(String(200), default=None)
    agent_identity: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[float | None] = mapped_column(default=None)
    folder: Mapped[str] = mapped_column(String(500), default="")  # raw per-track files (local)
    storage_key: Mapped[str | None] = mapped_column(String(500), default=None)  # the composite
    size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # progress of the worker, per step
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class ConsentDecision(Base):
    """A participant's answer to "may we record you?", with when it was given."""

    __tablename__ = "consent_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    identity: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))  # granted | refused
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """Where an app wants events; the signing secret is stored encrypted (it must sign)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint, with every attempt's outcome (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every attempt
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class Conversion(Base):
    """An order the merchant attributes to a call (posted by the merchant's server)."""

    __tablename__ = "conversions"
    __table_args__ = (UniqueConstraint("app_id", "order_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Things done to data that an auditor may ask about (retention deletions, deletes by staff)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_webhook_deliveries_due", WebhookDelivery.status, WebhookDelivery.next_attempt_at)


class QualitySample(Base):
    """One participant's 5-second quality report (what their browser measured) with the MOS estimate."""

    __tablename__ = "quality_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    pid: Mapped[str] = mapped_column(String(40), index=True)
    identity: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rtt_ms: Mapped[float | None] = mapped_column(default=None)
    jitter_ms: Mapped[float | None] = mapped_column(default=None)
    loss_pct: Mapped[float | None] = mapped_column(default=None)
    in_kbps: Mapped[float | None] = mapped_column(default=None)
    out_kbps: Mapped[float | None] = mapped_column(default=None)
    fps: Mapped[float | None] = mapped_column(default=None)
    freeze_ratio: Mapped[float | None] = mapped_column(default=None)
    concealment_ratio: Mapped[float | None] = mapped_column(default=None)
    mos: Mapped[float | None] = mapped_column(default=None)
    level: Mapped[int | None] = mapped_column(Integer, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AppKey(Base):
    """One version of an app's key-encryption key, wrapped (AES-256-GCM) by the server's master key.

    Recordings carry the version that wrapped their data key, so rotation (a new version) leaves older
    recordings readable; `keys.keyring` is the only code that reads or writes this table.
    """

    __tablename__ = "app_keys"
    __table_args__ = (UniqueConstraint("app_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[str] = mapped_column(Text)  # base64(nonce + ciphertext + tag)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
