"""The compact seat-state encoding: 2 bits per seat, 4 per byte, first seat in the top bits."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ticketbook.seating.states import (
    SeatState,
    decode_state_values,
    decode_states,
    encode_states,
    encoded_length,
)

SEATMAP_JS = Path(__file__).parents[2] / "src/ticketbook/web/static/seatmap.js"
F, H, S, B = SeatState.FREE, SeatState.HELD, SeatState.SOLD, SeatState.BLOCKED
LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 1001, 60_000]


def reference_encode(states: list[SeatState]) -> bytes:
    """The documented format, written the slow obvious way, as an oracle."""
    out = bytearray((len(states) + 3) // 4)
    for i, state in enumerate(states):
        out[i // 4] |= int(state) << (6 - 2 * (i % 4))
    return bytes(out)


def random_states(count: int, seed: int) -> list[SeatState]:
    rng = random.Random(seed)
    return [rng.choice(list(SeatState)) for _ in range(count)]


def test_state_values_are_the_wire_values() -> None:
    assert [int(s) for s in SeatState] == [0, 1, 2, 3]
    assert [s.name for s in SeatState] == ["FREE", "HELD", "SOLD", "BLOCKED"]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], b""),
        ([F], b"\x00"),
        ([B], b"\xc0"),
        ([H], b"\x40"),
        ([F, H, S, B], b"\x1b"),  # 00 01 10 11
        ([B, B, B, B], b"\xff"),
        ([H, F, F, F, S], b"\x40\x80"),
        ([F, F, F, H, F, F, S], b"\x01\x08"),
        ([S, B, H], b"\xb4"),  # 10 11 01 + zero padding
    ],
)
def test_known_bytes(states: list[SeatState], expected: bytes) -> None:
    assert encode_states(states) == expected
    assert decode_states(expected, len(states)) == states


@pytest.mark.parametrize("count", LENGTHS)
def test_round_trip_random(count: int) -> None:
    states = random_states(count, seed=count)
    data = encode_states(states)
    assert len(data) == (count + 3) // 4 == encoded_length(count)
    assert data == reference_encode(states)
    decoded = decode_states(data, count)
    assert decoded == states
    assert all(type(s) is SeatState for s in decoded)
    assert decode_state_values(data, count) == bytes(states)


@pytest.mark.parametrize("count", LENGTHS)
def test_bytes_input_encodes_like_the_states(count: int) -> None:
    states = random_states(count, seed=count + 1)
    assert encode_states(bytes(states)) == encode_states(states)
    assert encode_states(bytearray(states)) == encode_states(states)
    assert encode_states(memoryview(bytes(states))) == encode_states(states)


def test_a_stadium_fits_in_15000_bytes() -> None:
    assert encode_states([F] * 60_000) == bytes(15_000)
    assert encode_states([B] * 60_000) == b"\xff" * 15_000
    data = encode_states(random_states(60_000, seed=7))
    assert len(data) == 15_000 <= 20 * 1024


def test_trailing_bits_are_zero() -> None:
    for count in (1, 2, 3, 5, 6, 7):
        data = encode_states([B] * count)
        used = count % 4 or 4
        assert data[-1] == (0xFF << (8 - 2 * used)) & 0xFF


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="0-3"):
        encode_states(b"\x00\x04")
    with pytest.raises(ValueError):
        encode_states([256])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        encode_states([-1])  # type: ignore[list-item]


def test_decode_refuses_a_wrong_length_or_dirty_padding() -> None:
    with pytest.raises(ValueError, match="take 2 bytes"):
        decode_states(b"\x00", 5)
    with pytest.raises(ValueError, match="take 1 bytes"):
        decode_states(b"\x00\x00", 4)
    with pytest.raises(ValueError, match="unused bits"):
        decode_states(b"\x01", 3)  # the 4th seat's bits are set
    with pytest.raises(ValueError):
        decode_states(b"", -1)
    assert decode_states(b"", 0) == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_decoder_reads_what_python_writes() -> None:
    cases = {count: random_states(count, seed=100 + count) for count in LENGTHS}
    payload = {str(n): encode_states(states).hex() for n, states in cases.items()}
    script = f"""
        globalThis.window = globalThis;
        require({json.dumps(str(SEATMAP_JS))});
        const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const out = {{}};
        for (const [n, hex] of Object.entries(cases)) {{
          const bytes = Uint8Array.from(Buffer.from(hex, "hex"));
          // Both an ArrayBuffer and a view into a larger buffer must decode the same.
          const padded = new Uint8Array(bytes.length + 3);
          padded.set(bytes, 1);
          const a = window.TicketBookSeatMap.decodeSeatStates(bytes.buffer, Number(n));
          const b = window.TicketBookSeatMap.decodeSeatStates(
            padded.subarray(1, 1 + bytes.length), Number(n));
          out[n] = [Array.from(a), Array.from(b)];
        }}
        let refused = false;
        try {{ window.TicketBookSeatMap.decodeSeatStates(new ArrayBuffer(1), 5); }}
        catch (e) {{ refused = e instanceof RangeError; }}
        out.refused = refused;
        process.stdout.write(JSON.stringify(out));
    """
    result = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    out = json.loads(result.stdout)
    assert out.pop("refused") is True
    for count, states in cases.items():
        expected = [int(s) for s in states]
        assert out[str(count)] == [expected, expected], count
