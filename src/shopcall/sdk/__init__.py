"""Server-side helpers for merchants integrating ShopCall (standard library only)."""

from shopcall.sdk.webhooks import WebhookVerificationError, verify_webhook

__all__ = ["WebhookVerificationError", "verify_webhook"]
