"""Prefixed random ids: readable in logs and APIs, unguessable across tenants."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12).replace('-', 'x').replace('_', 'y')}"
