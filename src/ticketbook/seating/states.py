"""The live state of every seat of a concert, and its compact wire encoding.

Encoding (served raw as ``application/octet-stream``; decoded by ``seatmap.js`` in the browser):

- Each seat takes 2 bits holding its `SeatState` value: 0 free, 1 held, 2 sold, 3 blocked.
- Seats are in ordinal order: seat *i* is ``Layout.seats[i]``.
- Four seats per byte, the first in the two most significant bits: seat *i* is in byte
  ``i >> 2`` (``i // 4``), at bits ``6 - 2 * (i & 3)`` and the one above, so
  ``state = (data[i >> 2] >> (6 - 2 * (i & 3))) & 3``.
  Seats 0..3 with states free, held, sold, blocked give the byte ``0b00_01_10_11`` = 0x1B.
- The length is exactly ``ceil(count / 4)`` bytes; the unused bits of the last byte are zero.
  No header: the client knows the count (the number of seats in the layout it was given).
  60,000 seats take 15,000 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class SeatState(IntEnum):
    FREE = 0
    HELD = 1  # held by a payment in flight
    SOLD = 2
    BLOCKED = 3  # not for sale

    @property
    def css_name(self) -> str:
        return self.name.lower()


_STATES = tuple(SeatState)
_MAX_STATE = max(_STATES)


def encoded_length(count: int) -> int:
    return (count + 3) // 4


def encode_states(states: Sequence[SeatState] | bytes | bytearray | memoryview) -> bytes:
    """Two bits per seat, four seats per byte, first seat in the top bits (see the module doc).

    Accepts the states themselves or a bytes-like of one value (0-3) per seat, which is the
    fast path: the work is a few C-level slices and big-integer shifts, no Python loop.
    """
    values = bytes(states)  # IntEnum members are ints; bytes() rejects anything over 255
    count = len(values)
    if count == 0:
        return b""
    if max(values) > _MAX_STATE:
        raise ValueError(f"a seat state is 0-3, got {max(values)}")
    values += bytes(-count % 4)  # pad to whole bytes: the trailing bits are zero
    length = len(values) // 4
    # Each stride slice holds one bit pair of every output byte; as big-endian integers their
    # digits are bytes ≤ 3, so shifting by 6/4/2 can't carry into the neighbouring byte.
    packed = (
        int.from_bytes(values[0::4]) << 6
        | int.from_bytes(values[1::4]) << 4
        | int.from_bytes(values[2::4]) << 2
        | int.from_bytes(values[3::4])
    )
    return packed.to_bytes(length)


def decode_state_values(data: bytes, count: int) -> bytes:
    """The inverse of `encode_states` as one byte (0-3) per seat."""
    if count < 0:
        raise ValueError("count must not be negative")
    length = encoded_length(count)
    if len(data) != length:
        raise ValueError(f"{count} seats take {length} bytes, got {len(data)}")
    if count == 0:
        return b""
    packed = int.from_bytes(data)
    low_bits = int.from_bytes(b"\x03" * length)  # 0b11 in every byte
    values = bytearray(length * 4)
    for slot, shift in enumerate((6, 4, 2, 0)):
        values[slot::4] = ((packed >> shift) & low_bits).to_bytes(length)
    if any(values[count:]):
        raise ValueError("the unused bits of the last byte must be zero")
    return bytes(values[:count])


def decode_states(data: bytes, count: int) -> list[SeatState]:
    """The inverse of `encode_states`: the state of each of `count` seats, in ordinal order."""
    states = _STATES
    return [states[v] for v in decode_state_values(data, count)]
