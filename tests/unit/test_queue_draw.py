"""The draw's pure functions and the admission token, without a database: the order is the
one `hashlib` alone recomputes, verification catches a wrong seed, a changed order and a
missing id, and tokens refuse forgery, tampering and other purposes' MACs."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from ticketbook.auth.tokens import TokenSigner
from ticketbook.queue import draw, tokens
from ticketbook.queue.service import admitted_through, seconds_until


def test_the_order_is_ascending_sha256_of_seed_and_join_id() -> None:
    seed = bytes(range(32))
    ids = [draw.new_join_id() for _ in range(200)]
    expected = sorted(ids, key=lambda j: hashlib.sha256(seed + j.encode()).hexdigest())
    assert draw.order(seed, ids) == expected
    assert draw.order(seed, reversed(ids)) == expected  # the input's order doesn't matter
    assert draw.order(bytes(32), ids) != expected  # another seed, another order


def test_join_ids_are_16_lowercase_hex_digits() -> None:
    ids = {draw.new_join_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(draw.is_join_id(j) for j in ids)
    assert not draw.is_join_id("ABCDEF0123456789") and not draw.is_join_id("abc")


def test_verify_accepts_the_true_record_and_names_what_is_wrong() -> None:
    seed = draw.new_seed()
    ids = [draw.new_join_id() for _ in range(50)]
    order = draw.order(seed, ids)
    published = draw.seed_hash(seed)
    assert draw.verify(seed=seed, published_hash=published, join_ids=ids, claimed_order=order).ok
    swapped = [order[1], order[0], *order[2:]]
    bad = draw.verify(seed=seed, published_hash=published, join_ids=ids, claimed_order=swapped)
    assert not bad.ok and "not the one the seed gives" in bad.problems[0]
    other_seed = draw.verify(
        seed=draw.new_seed(), published_hash=published, join_ids=ids, claimed_order=order
    )
    assert any("published hash" in p for p in other_seed.problems)
    missing = draw.verify(
        seed=seed, published_hash=published, join_ids=ids, claimed_order=order[1:]
    )
    assert any("exactly" in p for p in missing.problems)


def test_admission_tokens_bind_concert_user_and_expiry() -> None:
    signer = TokenSigner("k" * 40)
    concert, user = uuid.uuid4(), uuid.uuid4()
    expires = datetime(2031, 6, 1, 10, 0, tzinfo=UTC)
    token = tokens.issue(signer, concert, user, expires)
    assert token.startswith(f"qa1.{concert.hex}.{user.hex}.{int(expires.timestamp())}.")
    assert tokens.read(signer, token) == tokens.Admission(concert, user, expires)
    assert tokens.read(TokenSigner("x" * 40), token) is None  # another server's key
    later = token.replace(str(int(expires.timestamp())), str(int(expires.timestamp()) + 3600))
    assert tokens.read(signer, later) is None  # a stretched expiry
    someone = token.replace(user.hex, uuid.uuid4().hex)
    assert tokens.read(signer, someone) is None
    assert tokens.read(signer, "qa1.x.y.z.w") is None and tokens.read(signer, "") is None
    # A MAC of the same text for another purpose (the CSRF tokens') is not an admission.
    payload = token.rpartition(".")[0]
    assert tokens.read(signer, f"{payload}.{signer.mac('csrf', payload)}") is None


def test_the_frontier_advances_at_the_rate_and_stops_at_the_last_place() -> None:
    base = datetime(2031, 6, 1, 10, 0, tzinfo=UTC)
    row = SimpleNamespace(
        drawn_at=base, rate_base_at=base, rate_base_count=0, rate_per_minute=120, next_position=1001
    ).__dict__
    assert admitted_through(row, base) == 0
    assert admitted_through(row, base + timedelta(seconds=0.49)) == 0
    assert admitted_through(row, base + timedelta(seconds=30)) == 60
    assert admitted_through(row, base + timedelta(hours=1)) == 1000  # capped
    assert seconds_until(row, 61, base + timedelta(seconds=30)) == 1
    assert seconds_until(row, 600, base) == 300
    assert admitted_through({**row, "drawn_at": None, "rate_base_at": None}, base) == 0


def test_verify_checks_the_order_has_as_many_ids_as_the_draw_counted() -> None:
    seed = draw.new_seed()
    ids = [draw.new_join_id() for _ in range(5)]
    order = draw.order(seed, ids)
    published = draw.seed_hash(seed)
    kwargs = {"seed": seed, "published_hash": published, "join_ids": ids, "claimed_order": order}
    assert draw.verify(**kwargs, early_count=5).ok
    short = draw.verify(**kwargs, early_count=6)
    assert not short.ok and "counted 6" in short.problems[0]
