"""Signalling features: each module registers its messages and hooks with the hub and depends
only on `signalling.context` (never on the hub or on another feature)."""
