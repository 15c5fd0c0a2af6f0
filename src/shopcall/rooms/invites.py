"""Invitation links for group sessions: an unguessable code derived from the room id.

The code is an HMAC of the room id under the server's signing key, so it needs no storage and
cannot be forged; it stops working when the room ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def invite_code(key: bytes, room_id: str) -> str:
    mac = hmac.new(key, f"invite:{room_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:22]


def check_invite(key: bytes, room_id: str, code: str) -> bool:
    return hmac.compare_digest(invite_code(key, room_id), code)


def guest_identity(key: bytes, room_id: str, device: str) -> str:
    """A guest's identity in one room, stable for their device and unguessable from outside."""
    mac = hmac.new(key, f"guest:{room_id}:{device}".encode(), hashlib.sha256).hexdigest()
    return "guest-" + mac[:12]
