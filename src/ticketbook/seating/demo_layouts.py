"""Demo venue layouts: a concert hall for the demo concerts, a stadium for benchmarks, a single
block for race tests.

Each is written as a "ticketbook.layout/1" document (the `*_document` functions, which tests
can also upload) and read with `parse_layout`, so the demo data goes through the parser that
organizers' layouts go through.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ticketbook.seating.layout import FORMAT, MAX_SEATS, parse_layout, row_label
from ticketbook.seating.model import Layout

# --- the concert hall ---------------------------------------------------------------------------

# The stalls' rows are arcs around one centre above the stage, so they curve around it.
_HALL_CENTRE_X = 600.0
_HALL_CURVE_Y = -380.0
_FRONT_RADIUS = 540.0  # row A's middle is at y = 160
_ROW_STEP = 14.0
_SEAT_STEP = 12.0  # between seats, along the row's arc
_AISLE = 30.0  # between the stalls' sections, along the arc
_STALLS_ROWS = 24  # A … X
_PREMIUM_ROWS = 8  # A … H
_BALCONY_ROWS = 12
_BALCONY_SEATS = 64


def _on_curve(radius: float, arc: float) -> dict[str, float]:
    """The point `arc` map units along the circle of `radius` from its lowest point (positive:
    to the right)."""
    angle = arc / radius
    return {
        "x": round(_HALL_CENTRE_X + radius * math.sin(angle), 2),
        "y": round(_HALL_CURVE_Y + radius * math.cos(angle), 2),
    }


def _arc_row(
    label: str, radius: float, arc_from: float, count: int, zone: str | None
) -> dict[str, Any]:
    """A "line" row of `count` seats along the circle of `radius`, from `arc_from` rightwards."""
    arc_to = arc_from + (count - 1) * _SEAT_STEP
    # The sagitta of the arc between the row's ends: how far its middle is off the chord.
    half_angle = (arc_to - arc_from) / radius / 2
    row: dict[str, Any] = {
        "label": label,
        "line": {
            "from": _on_curve(radius, arc_from),
            "to": _on_curve(radius, arc_to),
            "count": count,
            "bulge": round(radius * (1 - math.cos(half_angle)), 2),
        },
    }
    if zone is not None:
        row["zone"] = zone
    return row


def concert_hall_document() -> dict[str, Any]:
    """The document of `concert_hall`."""
    left: list[dict[str, Any]] = []
    centre: list[dict[str, Any]] = []
    right: list[dict[str, Any]] = []
    for i in range(_STALLS_ROWS):
        label = row_label(i)
        radius = _FRONT_RADIUS + i * _ROW_STEP
        zone = "premium" if i < _PREMIUM_ROWS else None  # the others: their section's
        centre_seats = 24 + 2 * (i // 4)  # the rows widen towards the back
        side_seats = 10 + i // 4
        half = (centre_seats - 1) * _SEAT_STEP / 2
        side_start = half + _AISLE
        side_end = side_start + (side_seats - 1) * _SEAT_STEP
        centre.append(_arc_row(label, radius, -half, centre_seats, zone))
        left.append(_arc_row(label, radius, -side_end, side_seats, zone))
        right.append(_arc_row(label, radius, side_start, side_seats, zone))
    # Wheelchair spaces at the outer ends of the back row, each with a companion seat beside it.
    last = _STALLS_ROWS - 1
    left[last]["flags"] = {"1": ["wheelchair"], "2": ["companion"]}
    n = right[last]["line"]["count"]
    right[last]["flags"] = {str(n): ["wheelchair"], str(n - 1): ["companion"]}
    # The balcony's pillars stand in the rear stalls; these seats look past one.
    for side in (left, right):
        side[19]["flags"] = {"7": ["restricted_view"], "8": ["restricted_view"]}  # row T
        side[20]["flags"] = {"7": ["restricted_view"]}  # row U
    # A wheelchair platform behind the centre's back row: spaces and companion seats, listed.
    platform_y = _HALL_CURVE_Y + _FRONT_RADIUS + last * _ROW_STEP + 28
    centre.append(
        {
            "label": "WC",
            "seats": [
                {
                    "label": str(k + 1),
                    "x": _HALL_CENTRE_X + (k - 3.5) * 22,
                    "y": platform_y,
                    "flags": ["wheelchair" if k % 2 == 0 else "companion"],
                }
                for k in range(8)
            ],
        }
    )
    balcony_width = (_BALCONY_SEATS - 1) * _SEAT_STEP
    return {
        "format": FORMAT,
        "name": "Harbour Hall",
        "stage": {"x": 420, "y": 0, "width": 360, "height": 80, "label": "Stage"},
        "zones": [
            {"key": "premium", "name": "Premium"},
            {"key": "standard", "name": "Standard"},
            {"key": "balcony", "name": "Balcony"},
        ],
        "sections": [
            {"key": "SL", "name": "Stalls Left", "zone": "standard", "rows": left},
            {"key": "SC", "name": "Stalls Centre", "zone": "standard", "rows": centre},
            {"key": "SR", "name": "Stalls Right", "zone": "standard", "rows": right},
            {
                "key": "BAL",
                "name": "Balcony",
                "zone": "balcony",
                "blocks": [
                    {
                        "rows": _BALCONY_ROWS,
                        "seatsPerRow": _BALCONY_SEATS,
                        "origin": {"x": _HALL_CENTRE_X - balcony_width / 2, "y": platform_y + 50},
                        "seatSpacing": _SEAT_STEP,
                        "rowSpacing": 16,
                        "bulge": 40,
                    }
                ],
            },
        ],
    }


def concert_hall() -> Layout:
    """Harbour Hall: 2,072 seats in stalls left, centre and right (curved rows, A-H premium,
    the rest standard) and a balcony (its own zone); wheelchair spaces with companion seats at
    the back of the stalls, a few restricted-view seats behind the balcony's pillars."""
    return parse_layout(concert_hall_document())


# --- the stadium --------------------------------------------------------------------------------

_STADIUM_SECTIONS = 48
_STADIUM_ROWS = 50  # rows a section aims for; its width follows from its seats
_STADIUM_SEAT_STEP = 10.0
_STADIUM_ROW_STEP = 12.0
_STADIUM_GAP = 60.0  # between neighbouring sections' front rows
_STADIUM_ASPECT = 1.3  # the ring's width over its height, like the pitch's


def _ellipse_points(a: float, b: float, count: int) -> list[tuple[float, float, float]]:
    """`count` points evenly spaced along the ellipse with semi-axes a, b, starting at the
    bottom and going round clockwise on the map: (x, y, outward normal's angle in degrees)."""
    steps = 4096
    ts = [math.pi / 2 + 2 * math.pi * i / steps for i in range(steps + 1)]
    lengths = [0.0]
    for t0, t1 in itertools.pairwise(ts):
        seg = math.hypot(a * (math.cos(t1) - math.cos(t0)), b * (math.sin(t1) - math.sin(t0)))
        lengths.append(lengths[-1] + seg)
    total = lengths[-1]
    out = []
    j = 0
    for k in range(count):
        target = total * k / count
        while lengths[j + 1] < target:
            j += 1
        t = ts[j] + (ts[j + 1] - ts[j]) * (target - lengths[j]) / (lengths[j + 1] - lengths[j])
        normal = math.degrees(math.atan2(math.sin(t) / b, math.cos(t) / a))
        out.append((a * math.cos(t), b * math.sin(t), normal))
    return out


def _turned(x: float, y: float, degrees: float) -> tuple[float, float]:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return x * c - y * s, x * s + y * c


def stadium_document(seats: int = 60_000) -> dict[str, Any]:
    """The document of `stadium`."""
    if not 1 <= seats <= MAX_SEATS:
        raise ValueError(f"a stadium has 1 to {MAX_SEATS} seats, not {seats}")
    count = min(_STADIUM_SECTIONS, seats)
    base, extra = divmod(seats, count)
    sizes = [base + (1 if i < extra else 0) for i in range(count)]
    # Every section as wide as the widest, so the ring's length is known before placing them.
    width = math.ceil(max(sizes) / _STADIUM_ROWS)
    span = (width - 1) * _STADIUM_SEAT_STEP
    perimeter = count * (span + _STADIUM_GAP)
    # Ramanujan's perimeter of an ellipse, solved for its height: close enough for a demo.
    b = perimeter / (
        math.pi * (3 * (_STADIUM_ASPECT + 1))
        - math.pi * math.sqrt((3 * _STADIUM_ASPECT + 1) * (_STADIUM_ASPECT + 3))
    )
    a = b * _STADIUM_ASPECT
    sections: list[dict[str, Any]] = []
    for i, ((x, y, normal), size) in enumerate(
        zip(_ellipse_points(a, b, count), sizes, strict=True)
    ):
        # The block's rows go down its own y axis: turn that axis to point away from the pitch.
        angle = round(normal - 90, 4)
        sideline = abs(math.sin(math.radians(normal)))
        zone = "sideline" if sideline > 0.75 else "corner" if sideline > 0.35 else "end"
        per_row = min(width, size)
        full, rest = divmod(size, per_row)
        blocks: list[dict[str, Any]] = []
        for rows, seats_per_row, first in ((full, per_row, 0), (1 if rest else 0, rest, full)):
            if not rows:
                continue
            # Centre each row on the section's place on the ring.
            ox, oy = _turned(
                -(seats_per_row - 1) * _STADIUM_SEAT_STEP / 2, first * _STADIUM_ROW_STEP, angle
            )
            blocks.append(
                {
                    "rows": rows,
                    "seatsPerRow": seats_per_row,
                    "origin": {"x": round(x + ox, 2), "y": round(y + oy, 2)},
                    "seatSpacing": _STADIUM_SEAT_STEP,
                    "rowSpacing": _STADIUM_ROW_STEP,
                    "firstRow": row_label(first),
                    "angle": angle,
                }
            )
        key = str(101 + i)
        sections.append({"key": key, "name": f"Section {key}", "zone": zone, "blocks": blocks})
    # The pitch fits inside the ring with room to spare (a rectangle in an ellipse at 1/√2).
    pitch_w, pitch_h = round(a * 1.2, 2), round(b * 1.2, 2)
    return {
        "format": FORMAT,
        "name": "Harbour Stadium",
        "stage": {
            "x": round(-pitch_w / 2, 2),
            "y": round(-pitch_h / 2, 2),
            "width": pitch_w,
            "height": pitch_h,
            "label": "Pitch",
        },
        "zones": [
            {"key": "sideline", "name": "Sideline"},
            {"key": "corner", "name": "Corner"},
            {"key": "end", "name": "Behind the goal"},
        ],
        "sections": sections,
    }


def stadium(seats: int = 60_000) -> Layout:
    """A stadium of exactly `seats` seats (1 to 100,000) in 48 sections around a pitch (fewer
    for fewer than 48 seats), each a rectangular block of about 50 rows facing the pitch, in
    three zones (sideline, corner, behind the goal): for benchmarks of the seat map and of the
    seat-state encoding."""
    return parse_layout(stadium_document(seats))


# --- a single block -----------------------------------------------------------------------------


def section_block_document(rows: int, seats_per_row: int) -> dict[str, Any]:
    """The document of `section_block`."""
    width = (seats_per_row - 1) * 12
    return {
        "format": FORMAT,
        "name": "Block S",
        "stage": {"x": 0, "y": 0, "width": max(width, 60), "height": 40, "label": "Stage"},
        "zones": [{"key": "standard", "name": "Standard"}],
        "sections": [
            {
                "key": "S",
                "name": "Section S",
                "zone": "standard",
                "blocks": [
                    {
                        "rows": rows,
                        "seatsPerRow": seats_per_row,
                        "origin": {"x": 0, "y": 80},
                        "seatSpacing": 12,
                        "rowSpacing": 14,
                    }
                ],
            }
        ],
    }


def section_block(rows: int, seats_per_row: int) -> Layout:
    """One section "S" of `rows` by `seats_per_row` seats (rows A, B, …, seats 1, 2, …), all in
    zone "standard": for race tests (15 by 20 = 300 seats)."""
    return parse_layout(section_block_document(rows, seats_per_row))
