import time

import jwt
import pytest

from shopcall.auth import tokens
from shopcall.auth.secrets import hash_secret, load_signing_key, new_app_secret, verify_secret

KEY = b"k" * 48


def test_mint_and_verify_round_trip() -> None:
    tok, exp = tokens.mint(KEY, app_id="app_a", identity="bob", role="shopper", rooms=["rm_1"], name="Bob",
                           ttl_s=60, customer="cus_1")
    c = tokens.verify(KEY, tok)
    assert (c.app_id, c.identity, c.name, c.role, c.rooms, c.customer) == ("app_a", "bob", "Bob", "shopper",
                                                                        ("rm_1",), "cus_1")
    assert c.expires_at == exp and exp - time.time() <= 60
    assert c.may_join("rm_1") and not c.may_join("rm_2")


def test_agent_wildcard_grants_any_room_but_shopper_cannot_have_it() -> None:
    tok, _ = tokens.mint(KEY, app_id="app_a", identity="anna", role="agent", rooms=["*"])
    assert tokens.verify(KEY, tok).may_join("rm_anything")
    with pytest.raises(ValueError, match="every room"):
        tokens.mint(KEY, app_id="app_a", identity="eve", role="shopper", rooms=["*"])
    forged = jwt.encode({"iss": "shopcall", "aud": "app_a", "sub": "eve", "role": "shopper", "rooms": ["*"],
                         "iat": int(time.time()), "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
    with pytest.raises(tokens.TokenError) as e:
        tokens.verify(KEY, forged)
    assert e.value.code == "token_invalid"


def test_expired_token_rejected_with_code() -> None:
    tok, _ = tokens.mint(KEY, app_id="app_a", identity="bob", role="shopper", ttl_s=10, now=time.time() - 100)
    with pytest.raises(tokens.TokenError) as e:
        tokens.verify(KEY, tok)
    assert e.value.code == "token_expired"


@pytest.mark.parametrize("bad", ["", "not-a-jwt", "a.b.c"])
def test_garbage_rejected(bad: str) -> None:
    with pytest.raises(tokens.TokenError) as e:
        tokens.verify(KEY, bad)
    assert e.value.code == "token_invalid"


def test_forged_signature_rejected() -> None:
    tok, _ = tokens.mint(b"x" * 48, app_id="app_a", identity="bob", role="agent", rooms=["*"])
    with pytest.raises(tokens.TokenError) as e:
        tokens.verify(KEY, tok)
    assert e.value.code == "token_invalid" and "signature" in e.value.message


def test_alg_none_rejected() -> None:
    tok = jwt.encode({"iss": "shopcall", "aud": "app_a", "sub": "x", "role": "admin", "rooms": ["*"],
                      "iat": 1, "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(tokens.TokenError):
        tokens.verify(KEY, tok)


def test_wrong_app() -> None:
    tok, _ = tokens.mint(KEY, app_id="app_a", identity="bob", role="shopper")
    with pytest.raises(tokens.TokenError) as e:
        tokens.verify(KEY, tok, app_id="app_b")
    assert e.value.code == "token_wrong_app"


@pytest.mark.parametrize("kw", [{"role": "root"}, {"identity": ""}, {"ttl_s": 0}, {"ttl_s": 10**6}])
def test_mint_validates(kw: dict) -> None:
    args = {"app_id": "a", "identity": "i", "role": "shopper", **kw}
    with pytest.raises(ValueError):
        tokens.mint(KEY, **args)


def test_app_secret_hashing() -> None:
    s = new_app_secret()
    assert s.startswith("sk_") and len(s) > 40
    d = hash_secret(s)
    assert s not in d and verify_secret(s, d) and not verify_secret(s + "x", d)


def test_signing_key_created_once_private(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPCALL_SIGNING_KEY", raising=False)
    k1 = load_signing_key(tmp_path)
    assert load_signing_key(tmp_path) == k1 and len(k1) >= 48
    assert (tmp_path / "signing.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SHOPCALL_SIGNING_KEY", "short")
    with pytest.raises(ValueError):
        load_signing_key(tmp_path)
