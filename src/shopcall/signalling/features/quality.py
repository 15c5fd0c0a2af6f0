"""Quality telemetry over signalling, and the adaptive layer choice it drives.

Every ~5 s each client sends a compact summary of its own `getStats()` (RTT, jitter, bitrates,
and per subscription: loss, frame rate, freezes, concealment, the receiver's bandwidth estimate).
The server stores it with an estimated audio MOS, answers with the participant's network-quality
level (shown as bars), tells the others when that level changes, and lets a per-subscription
`LayerController` move the subscriber to another simulcast layer when its link calls for it, and
a `PlayoutController` size the subscriber's receive buffer so retransmissions can repair loss,
and a per-publisher `RedundancyController` deepen its redundant audio for its worst-off subscriber.
The report also names the client's media path (direct, or relayed by TURN over UDP, TCP or TLS), which
the others get as `participant_path` when it changes: the console shows who is on a relayed path.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field

from shopcall.media.backend import MediaError
from shopcall.quality.layers import LayerController, LinkSample
from shopcall.quality.mos import estimate_mos, quality_level
from shopcall.quality.playout import PlayoutController
from shopcall.quality.redundancy import RedundancyController
from shopcall.rooms.incall_store import InCallStore
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import Msg
from shopcall.signalling.registry import Registry
from shopcall.signalling.room import LiveRoom

log = structlog.get_logger("shopcall.quality")
QUALITY_RATE = "4/5seconds"  # the SDK reports every 5 s


class SubStats(BaseModel):
    model_config = ConfigDict(extra="ignore")
    loss_pct: float = Field(0, ge=0, le=100)
    kbps: float = Field(0, ge=0, le=1_000_000)
    fps: float | None = Field(None, ge=0, le=240)
    freeze_ratio: float = Field(0, ge=0, le=1)
    concealment_ratio: float = Field(0, ge=0, le=1)
    height: int | None = Field(None, ge=0, le=10_000)
    available_kbps: float | None = Field(None, ge=0, le=1_000_000)


MediaPath = Literal["direct", "relay-udp", "relay-tcp", "relay-tls"]


class QualityReport(Msg):
    type: Literal["quality"]
    rtt_ms: float | None = Field(None, ge=0, le=60_000)
    jitter_ms: float | None = Field(None, ge=0, le=60_000)
    out_kbps: float | None = Field(None, ge=0, le=1_000_000)
    subs: dict[str, SubStats] = Field(default_factory=dict, max_length=40, description="by publisher pid")
    path: MediaPath | None = Field(None, description="the selected ICE candidate pair's path (own publisher first)")


@dataclass
class QualityConnState:
    """One connection's controllers: per subscription (as subscriber) and as a publisher."""

    layers: dict[str, LayerController] = field(default_factory=dict)  # sid -> controller
    playout: dict[str, PlayoutController] = field(default_factory=dict)  # sid -> controller
    redundancy: RedundancyController = field(default_factory=RedundancyController)
    level: int | None = None
    path: str | None = None


class QualityFeature(Feature):
    def __init__(self, ctx: RoomContext, store: InCallStore) -> None:
        self.ctx, self.store = ctx, store

    def register(self, registry: Registry) -> None:
        registry.add(QualityReport, self.on_quality, rate=QUALITY_RATE)

    async def after_join(self, room: LiveRoom, conn: Connection) -> None:
        """A late joiner (a transferred or invited agent) learns the paths already reported."""
        for pid, member in room.members.items():
            path = member.features.get(QualityConnState).path
            if member is not conn and path is not None:
                conn.send({"type": "participant_path", "pid": pid, "path": path})

    def _deepen_audio_redundancy(self, members: dict[str, Connection], conn: Connection,
                                 subs: dict[str, SubStats], now: float) -> None:
        """Tell each publisher how much audio redundancy its worst-off subscriber needs."""
        for pid, s in subs.items():
            publisher = members.get(pid)
            if publisher is None or publisher is conn:
                continue
            distance = publisher.features.get(QualityConnState).redundancy.report(conn.pid or "", s.loss_pct, now)
            if distance is not None:
                log.info("audio_redundancy", pid=pid, distance=distance, subscriber=conn.pid, loss=s.loss_pct)
                publisher.send({"type": "audio_redundancy", "distance": distance})

    async def on_quality(self, conn: Connection, msg: QualityReport) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        subs = msg.subs
        loss = max((s.loss_pct for s in subs.values()), default=0.0)
        conceal = max((s.concealment_ratio for s in subs.values()), default=0.0)
        freeze = max((s.freeze_ratio for s in subs.values()), default=0.0)
        fps = min((s.fps for s in subs.values() if s.fps is not None), default=None)
        in_kbps = sum(s.kbps for s in subs.values())
        rtt = msg.rtt_ms if msg.rtt_ms is not None else 0.0
        mos = estimate_mos(rtt, loss, msg.jitter_ms or 0.0, conceal) if subs or msg.rtt_ms is not None else None
        level = quality_level(mos, freeze) if mos is not None else None
        state = conn.features.get(QualityConnState)

        # adaptive layers: one controller per subscription of this subscriber
        now = time.monotonic()
        changes: list[dict[str, Any]] = []
        playout: list[dict[str, Any]] = []
        by_pid = {pid: sid for sid, pid in conn.subscriptions.items()}
        for pid, s in subs.items():
            sid = by_pid.get(pid)
            if sid is None or conn.media is None:
                continue
            po = state.playout.setdefault(sid, PlayoutController())
            changed, target = po.decide(s.loss_pct, s.freeze_ratio, now)
            if changed:
                playout.append({"pid": pid, "target_ms": target})
                log.info("playout_target", pid=conn.pid, publisher=pid, target_ms=target, loss=s.loss_pct)
            ctl = state.layers.setdefault(sid, LayerController())
            layer = ctl.decide(LinkSample(loss_pct=s.loss_pct, available_kbps=s.available_kbps,
                                          freeze_ratio=s.freeze_ratio, fps=s.fps), now)
            if layer is not None:
                try:
                    await conn.media.configure_subscription(sid, substream=layer)
                    changes.append({"pid": pid, "substream": layer, "reason": ctl.history[-1][2]})
                    log.info("layer_changed", pid=conn.pid, publisher=pid, substream=layer, loss=s.loss_pct,
                             kbps=s.available_kbps)
                except MediaError as e:
                    log.warning("layer_change_failed", error=str(e))

        self._deepen_audio_redundancy(live.members, conn, subs, now)
        await asyncio.to_thread(
            self.store.add_quality_sample, app_id=live.app_id, room_id=live.room_id, pid=conn.pid or "",
            identity=conn.claims.identity, rtt_ms=msg.rtt_ms, jitter_ms=msg.jitter_ms, loss_pct=loss,
            in_kbps=in_kbps, out_kbps=msg.out_kbps, fps=fps, freeze_ratio=freeze, concealment_ratio=conceal, mos=mos,
            level=level, data={"subs": {k: v.model_dump() for k, v in subs.items()}, "layers": changes,
                               "playout": playout, "path": msg.path})
        if level is not None and state.level != level:
            state.level = level
            self.ctx.broadcast(live, {"type": "participant_quality", "pid": conn.pid, "level": level}, skip=conn)
        if msg.path is not None and state.path != msg.path:
            state.path = msg.path
            log.info("media_path", pid=conn.pid, path=msg.path)
            self.ctx.broadcast(live, {"type": "participant_path", "pid": conn.pid, "path": msg.path}, skip=conn)
        for c in changes:
            conn.send({"type": "layer_changed", **c})
        for p in playout:
            conn.send({"type": "playout_target", **p})
        return {"type": "quality_ack", "level": level, "mos": mos}
