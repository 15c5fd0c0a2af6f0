"""Allowed-origin entries and a browser's Origin header: what is accepted, how it is written, what matches."""

import pytest

from shopcall.api.origins import MAX_ORIGINS, OriginError, allows, normalise, parse_origin, parse_pattern


@pytest.mark.parametrize(("entry", "canonical"), [
    ("https://Shop.Example.COM", "https://shop.example.com"),
    ("https://shop.example.com:443", "https://shop.example.com"),
    ("http://shop.example.com:80", "http://shop.example.com"),
    ("https://shop.example.com:8443", "https://shop.example.com:8443"),
    ("http://localhost:*", "http://localhost:*"),
    ("  https://*.Example.org  ", "https://*.example.org"),
    ("http://[0:0::1]:3000", "http://[::1]:3000"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
])
def test_entries_are_written_the_way_browsers_send_origin(entry: str, canonical: str) -> None:
    assert str(parse_pattern(entry)) == canonical


@pytest.mark.parametrize("entry", ["*", "null", "", "https://", "https://a.com/", "https://a.com?x", "https://a.com#x",
                                   "https://u:p@a.com", "javascript://a.com", "https://*", "https://*.com",
                                   "https://a.*.com", "https://*a.com", "https://a.com:*x", "https://a.com:65536",
                                   "http://[::1", "http://[nope]:80", "https://-a.com", "https://a_b.com"])
def test_loose_or_malformed_entries_are_refused(entry: str) -> None:
    with pytest.raises(OriginError):
        parse_pattern(entry)


def test_matching_scheme_host_and_port() -> None:
    def ok(pattern: str, origin: str) -> bool:
        parsed = parse_origin(origin)
        assert parsed is not None, origin
        return parse_pattern(pattern).matches(parsed)

    assert ok("https://shop.example.com", "https://shop.example.com")
    assert ok("https://shop.example.com", "https://shop.example.com:443")
    assert not ok("https://shop.example.com", "http://shop.example.com")
    assert not ok("https://shop.example.com", "https://shop.example.com:444")
    assert ok("http://localhost:*", "http://localhost:5173") and ok("http://localhost:*", "http://localhost")
    assert not ok("http://localhost:*", "http://localhost.evil.com:5173")
    assert ok("https://*.example.org", "https://a.b.example.org")
    assert not ok("https://*.example.org", "https://example.org")
    assert not ok("https://*.example.org", "https://badexample.org")
    assert ok("http://[::1]:*", "http://[::1]:8080")


def test_browser_origin_headers_that_name_no_site() -> None:
    for header in ("null", "", "https://a.com/path", "https://*.a.com", "file://", "https://a.com:0"):
        assert parse_origin(header) is None, header


def test_lists_are_deduplicated_bounded_and_errors_name_the_entry() -> None:
    assert normalise(["https://a.com", "https://A.com:443", "http://localhost:*"]) == [
        "https://a.com", "http://localhost:*"]
    with pytest.raises(OriginError, match=r"allowed_origins\[1\] 'https://b.com/x': an origin has no path"):
        normalise(["https://a.com", "https://b.com/x"])
    with pytest.raises(OriginError, match=f"at most {MAX_ORIGINS}"):
        normalise([f"https://s{i}.example.com" for i in range(MAX_ORIGINS + 1)])
    origin = parse_origin("https://a.com")
    assert origin is not None
    assert allows(["garbage", "https://a.com"], origin) and not allows(["garbage"], origin)
