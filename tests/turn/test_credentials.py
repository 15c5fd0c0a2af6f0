"""TURN REST credentials: the known-answer vector was computed with openssl, not with this code."""

from __future__ import annotations

import pytest

from shopcall.turn.credentials import mint

# printf '1700000000:cus_42' | openssl dgst -sha1 -hmac north-wind-secret -binary | base64
VECTOR = ("north-wind-secret", "cus_42", 1700000000, "1700000000:cus_42", "qBVvw726/LqTtAFMvKoqfOth8tc=")


def test_known_answer() -> None:
    secret, identity, expiry, username, password = VECTOR
    cred = mint(secret, identity, expiry)
    assert (cred.username, cred.password, cred.expires_at) == (username, password, expiry)


def test_identity_with_the_separator_is_kept_whole() -> None:
    # coturn reads the expiry up to the first ':'; the rest is the identity
    cred = mint("north-wind-secret", "a:b", 1700000000)
    assert (cred.username, cred.password) == ("1700000000:a:b", "EUpRo5GEhjg0KbVAIgztmbMm4h0=")


def test_password_not_in_repr() -> None:
    cred = mint("north-wind-secret", "cus_42", 1700000000)
    assert cred.password not in repr(cred)


@pytest.mark.parametrize(("secret", "expiry", "message"), [("", 1700000000, "secret is empty"),
                                                           ("s" * 16, 0, "Unix time")])
def test_bad_input(secret: str, expiry: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mint(secret, "x", expiry)
