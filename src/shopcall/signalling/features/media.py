"""Publishing and subscribing: the client's camera/mic and its subscriptions to others' feeds.

`track_published` goes out when the media server reports the publisher's media up: only then
can others subscribe (Janus refuses subscriptions to a feed that has not started).

`ice_restart` repairs a broken path without a teardown: the same handle, feed id and subscription
id stay, so subscribers keep their subscriptions and the quality controllers (keyed by sid and
connection) keep their state.
"""

from __future__ import annotations

from typing import Any

from shopcall.media.backend import MediaError, MediaEvent, MediaSession
from shopcall.signalling import protocol as p
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.media_ops import drop_subscriptions_to, media_call, release_media
from shopcall.signalling.registry import Registry
from shopcall.signalling.room import HELD, Feed, Held, LiveRoom

ICE_RESTART_RATE = "12/30seconds"  # the SDK restarts at most every few seconds per peer connection
KEYFRAME_RATE = "20/10seconds"  # the SDK asks at most every 2 s per stalled subscription
SCREEN_TARGET = "screen"  # the screen share's session in `conn.extra_media` (features/screens.py)


class MediaFeature(Feature):
    def __init__(self, ctx: RoomContext) -> None:
        self.ctx = ctx

    def register(self, registry: Registry) -> None:
        registry.add(p.Publish, self.on_publish)
        registry.add(p.Unpublish, self.on_unpublish)
        registry.add(p.Subscribe, self.on_subscribe)
        registry.add(p.Start, self.on_start)
        registry.add(p.Unsubscribe, self.on_unsubscribe)
        registry.add(p.Trickle, self.on_trickle)
        registry.add(p.IceRestart, self.on_ice_restart, rate=ICE_RESTART_RATE)
        registry.add(p.Mute, self.on_mute)
        registry.add(p.Keyframe, self.on_keyframe, rate=KEYFRAME_RATE)

    async def _session(self, conn: Connection) -> MediaSession:
        if conn.media is None:
            async def on_event(ev: MediaEvent, c: Connection = conn) -> None:
                while c.media_heir is not None:  # taken over by a resumed connection
                    c = c.media_heir
                await self._on_media_event(c, ev)

            conn.media = await self.ctx.media.open_session(f"{conn.claims.app_id}/{conn.pid}", on_event)
        return conn.media

    async def on_publish(self, conn: Connection, msg: p.Publish) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        media = await self._session(conn)
        if not conn.publisher_joined:
            assert conn.feed_id is not None
            await media.join_publisher(live.spec, conn.feed_id, conn.claims.name)
            conn.publisher_joined = True
        return {"type": "answer", "sdp": await media.publish(msg.sdp)}

    async def on_unpublish(self, conn: Connection, msg: p.Unpublish) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        if not conn.publishing or conn.media is None:
            raise p.ProtocolError("not_publishing", "nothing is being published", msg.id)
        await media_call(conn.media.unpublish())
        await self._stopped(live, conn)
        return {"type": "unpublished"}

    async def _stopped(self, live: LiveRoom, conn: Connection) -> None:
        conn.publishing = False
        assert conn.pid is not None
        await drop_subscriptions_to(live, conn.pid)
        self.ctx.broadcast(live, {"type": "track_unpublished", "pid": conn.pid}, skip=conn)

    async def on_subscribe(self, conn: Connection, msg: p.Subscribe) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        feed = live.feed(msg.pid)
        if feed is None:
            raise p.ProtocolError("no_such_publisher", f"{msg.pid} is not publishing in this room", msg.id)
        if feed.owner is conn:
            raise p.ProtocolError("bad_request", "cannot subscribe to yourself", msg.id)
        media = await self._session(conn)
        sid, offer = await media.subscribe(live.spec, feed.feed_id)
        conn.subscriptions[sid] = msg.pid
        return {"type": "offer", "sid": sid, "pid": msg.pid, "sdp": offer}

    async def on_start(self, conn: Connection, msg: p.Start) -> dict[str, Any]:
        self.ctx.live(conn, msg.id)
        if msg.sid not in conn.subscriptions or conn.media is None:
            raise p.ProtocolError("no_such_subscription", f"no subscription {msg.sid}", msg.id)
        await conn.media.start(msg.sid, msg.sdp)
        return {"type": "started", "sid": msg.sid}

    async def on_unsubscribe(self, conn: Connection, msg: p.Unsubscribe) -> dict[str, Any]:
        self.ctx.live(conn, msg.id)
        if conn.subscriptions.pop(msg.sid, None) is None or conn.media is None:
            raise p.ProtocolError("no_such_subscription", f"no subscription {msg.sid}", msg.id)
        await media_call(conn.media.unsubscribe(msg.sid))
        return {"type": "unsubscribed", "sid": msg.sid}

    async def on_trickle(self, conn: Connection, msg: p.Trickle) -> None:
        self.ctx.live(conn, msg.id)
        extra = conn.extra_media.get(msg.target)
        if extra is not None:
            await extra.trickle("publisher", msg.candidate)
            return None
        if conn.media is None or (msg.target != "publisher" and msg.target not in conn.subscriptions):
            raise p.ProtocolError("no_such_subscription", f"no peer connection {msg.target!r} to trickle to",
                                  msg.id)
        await conn.media.trickle(msg.target, msg.candidate)
        return None

    async def on_ice_restart(self, conn: Connection, msg: p.IceRestart) -> dict[str, Any]:
        """Publisher/screen: the client's new offer → `ice_restarted` with the answer. Subscription:
        no SDP → `ice_restarted` with the server's new offer, which the client answers with `start`."""
        self.ctx.live(conn, msg.id)
        if msg.target in ("publisher", SCREEN_TARGET):
            if msg.sdp is None:
                raise p.ProtocolError("bad_request", f"ice_restart of {msg.target!r} needs the new offer in sdp",
                                      msg.id)
            media = conn.media if msg.target == "publisher" else conn.extra_media.get(SCREEN_TARGET)
            joined = conn.publisher_joined if msg.target == "publisher" else media is not None
            if media is None or not joined:
                what = "your camera is" if msg.target == "publisher" else "your screen is"
                raise p.ProtocolError("not_publishing", f"{what} not being published", msg.id)
            try:
                answer = await media.restart_publisher(msg.sdp)
            except MediaError as e:
                if e.code in ("not_publishing", "not_in_room"):
                    raise p.ProtocolError("not_publishing", f"{msg.target}: {e}", msg.id) from None
                raise
            return {"type": "ice_restarted", "target": msg.target, "sdp": answer}
        if msg.sdp is not None:
            raise p.ProtocolError("bad_request", "a subscription's ICE restart takes no sdp: the server offers, "
                                  "answer with start", msg.id)
        pid = conn.subscriptions.get(msg.target)
        if pid is None or conn.media is None:
            raise p.ProtocolError("no_such_subscription", f"no subscription {msg.target}", msg.id)
        offer = await conn.media.restart_subscription(msg.target)
        return {"type": "ice_restarted", "target": msg.target, "pid": pid, "sdp": offer}

    async def on_keyframe(self, conn: Connection, msg: p.Keyframe) -> dict[str, Any]:
        """Only for a feed this connection subscribes to, or its own (a publisher whose path just moved
        refreshes its subscribers' pictures): nobody makes others' encoders spend key frames."""
        live = self.ctx.live(conn, msg.id)
        feed = live.feed(msg.pid)
        mine = feed is not None and (msg.pid in conn.subscriptions.values() or feed.owner is conn)
        if feed is None or feed.media is None or not mine:
            raise p.ProtocolError("no_such_subscription", f"not subscribed to {msg.pid}", msg.id)
        try:
            await feed.media.request_keyframe()
        except MediaError as e:
            if e.code == "not_publishing":
                raise p.ProtocolError("no_such_publisher", f"{msg.pid} is not publishing", msg.id) from None
            raise
        return {"type": "keyframe_requested", "pid": msg.pid}

    async def on_mute(self, conn: Connection, msg: p.Mute) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        if msg.audio is not None:
            conn.audio_muted = msg.audio
        if msg.video is not None:
            conn.video_muted = msg.video
        self.ctx.broadcast(live, {"type": "participant_updated", "participant": conn.public()}, skip=conn)
        return {"type": "muted", "audio": conn.audio_muted, "video": conn.video_muted}

    async def _on_media_event(self, conn: Connection, ev: MediaEvent) -> None:
        if ev.kind not in ("up", "down"):
            return
        conn.send({"type": "media_state", "target": ev.target, "state": ev.kind})
        live = self.ctx.room(conn.room_id or "")
        if ev.target != "publisher" or live is None or conn.pid is None or conn.feed_id is None:
            return
        if ev.kind == "up" and not conn.publishing and conn.publisher_joined:
            conn.publishing = True
            self.ctx.broadcast(live, {"type": "track_published", "pid": conn.pid}, skip=conn)
            await self.ctx.feed_up(live, Feed(conn.pid, conn, conn.feed_id, conn.media, "camera"))
        elif ev.kind == "down" and conn.publishing:
            await self._stopped(live, conn)

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        if reason == HELD:
            return  # the media stays for a resume: others keep their subscriptions to it
        if conn.publishing and conn.pid is not None:
            conn.publishing = False
            await drop_subscriptions_to(room, conn.pid)
            self.ctx.broadcast(room, {"type": "track_unpublished", "pid": conn.pid}, skip=conn)

    async def joined_state(self, room: LiveRoom, conn: Connection) -> dict[str, Any]:
        # true only for a resume that took its kept media back: the client keeps its peer connections
        return {"media_kept": conn.media is not None}

    # ---- continuity: media kept through a signalling drop -----------------------------------------

    async def member_resumed(self, room: LiveRoom, conn: Connection, held: Held, keep_media: bool) -> None:
        """The same participant is back. If their peer connections survived (`keep_media`), the new
        connection takes over the kept Janus session: same feed, same subscriptions, so media that
        recovered on its own needs no renegotiation, and a broken path only an ICE restart."""
        old, held.conn = held.conn, None
        if old is None:
            return
        if not keep_media or old.media is None:
            await self._release_held(room, held.pid, old)
            return
        conn.media, old.media = old.media, None
        conn.publisher_joined, conn.publishing = old.publisher_joined, old.publishing
        conn.subscriptions, old.subscriptions = old.subscriptions, {}
        conn.feed_id = old.feed_id
        conn.audio_muted, conn.video_muted = old.audio_muted, old.video_muted
        old.media_heir = conn
        old.publisher_joined = old.publishing = old.media_kept = False

    async def hold_expired(self, room: LiveRoom, held: Held) -> None:
        old, held.conn = held.conn, None
        if old is not None:
            await self._release_held(room, held.pid, old)

    async def _release_held(self, room: LiveRoom, pid: str, old: Connection) -> None:
        """A held member's kept media goes: others' subscriptions to it end, then its session."""
        if old.publishing:
            old.publishing = False
            await drop_subscriptions_to(room, pid)
            self.ctx.broadcast(room, {"type": "track_unpublished", "pid": pid})
        await release_media(old)
