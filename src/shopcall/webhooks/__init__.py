"""Outgoing webhooks: event types (`events`), signatures (`signing`), secrets at rest (`secrets_box`)
and the retrying, logged delivery worker (`dispatcher.WebhookDispatcher`). See docs/webhooks.md.

Nothing is imported here on purpose: `shopcall.sdk` uses `signing` on merchants' servers without
pulling in SQLAlchemy or httpx.
"""
