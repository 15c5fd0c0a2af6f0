"""Encryption keys at rest: the server's master key and per-app key-encryption keys (a keyring)."""
