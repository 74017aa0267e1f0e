"""Reading X-Forwarded-For (http/forwarded.py): which entry is the client, and what is not an
address. The app-level behaviour (no 500, the rate limiter's key) is in
tests/http/test_http_hygiene.py."""

from __future__ import annotations

import pytest

from ticketbook.http.forwarded import MAX_HOPS, TrustedProxies, parse_address

PROXIES = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("192.0.2.1, 203.0.113.5", "203.0.113.5"),  # the client wrote the left one
        ("203.0.113.5, 10.1.2.3, 127.0.0.1", "203.0.113.5"),  # two trusted hops
        ("junk, 203.0.113.5", "203.0.113.5"),  # never read
        ("x" * 100_000 + ", 203.0.113.5", "203.0.113.5"),
        ("10.0.0.9, 10.0.0.8", "10.0.0.9"),  # only proxies: the first of them
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.5:8080", "203.0.113.5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("junk, 10.0.0.1", None),  # the hop after a proxy must be an address
        ("203.0.113.5, unknown", None),
        (", ".join(["10.0.0.1"] * (MAX_HOPS + 1)), None),  # more proxies than we follow
        ("", None),
    ],
)
def test_the_client_is_the_first_untrusted_address_from_the_right(
    header: str, client: str | None
) -> None:
    found = PROXIES.client_in(header)
    assert (found[0] if found else None) == client


def test_any_peer_trusts_one_hop_only() -> None:
    anyone = TrustedProxies.parse("*")
    assert anyone.trusts_peer("198.51.100.1")
    client = anyone.client_in("6.6.6.6, 203.0.113.5")
    assert client is not None and client[0] == "203.0.113.5"


@pytest.mark.parametrize(
    "text",
    ["1.2.3", "01.2.3.4", "fe80::1%eth0", "[1.2.3.4]", "1.2.3.4:", "1.2.3.4:65536", "a" * 65],
)
def test_what_is_not_an_address(text: str) -> None:
    assert parse_address(text) is None


def test_none_trusts_nobody_and_typos_are_refused() -> None:
    nobody = TrustedProxies.parse("none")
    assert not nobody.trusts_peer("127.0.0.1")
    assert TrustedProxies.parse("::1").trusts_peer("::1")
    with pytest.raises(ValueError, match=r"127\.0\.0\.l"):
        TrustedProxies.parse("127.0.0.1, 127.0.0.l")
