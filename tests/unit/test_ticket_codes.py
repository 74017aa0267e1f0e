"""Ticket codes (tickets/codes.py): a round trip, any altered character fails, another
concert's or an older version's key fails, and the documented sizes and longest code."""

from __future__ import annotations

import uuid

import pytest

from ticketbook.tickets import codes, qr
from ticketbook.tickets.keys import TicketKeys

KEYS = TicketKeys("unit-test secret key, long enough to mean something")
CONCERT, TIER = uuid.uuid4(), uuid.uuid4()


def _code(seat: str | None = None, version: int = 1, concert: uuid.UUID = CONCERT) -> str:
    return KEYS.code(
        concert_id=concert, key_version=version, ticket_id=uuid.uuid4(), tier_id=TIER, seat=seat
    )


def test_a_code_round_trips_and_reads_case_insensitively() -> None:
    code = _code("S:B:3")
    claim = KEYS.verify(code, CONCERT, 1)
    assert claim.seat == "S:B:3" and claim.is_for(CONCERT) and claim.key_version == 1
    assert KEYS.verify(f"  {code.lower()}\n", CONCERT, 1) == claim


def test_every_altered_character_fails() -> None:
    code = _code()
    for i in range(len(code)):
        other = "A" if code[i] != "A" else "B"
        with pytest.raises(codes.InvalidCode):
            KEYS.verify(code[:i] + other + code[i + 1 :], CONCERT, 1)


def test_another_concerts_or_an_older_versions_key_fails() -> None:
    with pytest.raises(codes.InvalidCode):
        KEYS.verify(_code(concert=uuid.uuid4()), CONCERT, 1)
    with pytest.raises(codes.InvalidCode):
        KEYS.verify(_code(version=1), CONCERT, 2)
    with pytest.raises(codes.InvalidCode):
        TicketKeys("another server's secret key").verify(_code(), CONCERT, 1)


def test_sizes_and_the_longest_code() -> None:
    assert len(_code()) == 154  # 95 bytes: docs/tickets.md
    assert len(_code("S:B:3")) == 162
    longest = _code("X" * codes.MAX_SEAT_BYTES)
    assert len(longest) == codes.MAX_CODE_LENGTH == 206
    assert qr.make(_code()).version == 6 and qr.make(longest).version == 8
    with pytest.raises(ValueError):
        _code("X" * (codes.MAX_SEAT_BYTES + 1))
    with pytest.raises(codes.InvalidCode):
        codes.read(longest + "A")
    for junk in ("", "TB", "XX" + longest[2:], "TB!!!!", "TB" + "A" * 20):
        with pytest.raises(codes.InvalidCode):
            codes.read(junk)
