"""Releasing media: what leave, unpublish, screen stop and room end share."""

from __future__ import annotations

from collections.abc import Awaitable

import structlog

from shopcall.signalling.connection import Connection
from shopcall.signalling.room import LiveRoom

log = structlog.get_logger("shopcall.signalling")


async def media_call(op: Awaitable[None]) -> None:
    """Run a release-type media operation; failure to release is logged, never raised."""
    try:
        await op
    except Exception as e:  # the media server may already be gone
        log.warning("media_release_failed", error=str(e))


async def drop_subscriptions_to(room: LiveRoom, feed_pid: str) -> None:
    """Free the subscriber handles that pointed at a feed that stopped."""
    for member in room.media_holders():
        for sid, target in list(member.subscriptions.items()):
            if target == feed_pid:
                member.subscriptions.pop(sid, None)
                if member.media is not None:
                    await media_call(member.media.unsubscribe(sid))


async def release_media(conn: Connection) -> None:
    """Close the connection's camera session (its publisher and subscriptions)."""
    media, conn.media = conn.media, None
    conn.media_kept = False
    conn.publisher_joined, conn.subscriptions = False, {}
    if media is not None:
        await media_call(media.close())
