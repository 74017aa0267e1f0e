"""The venue layout format (docs/seating.md, "Layout format"): every refusal names its path;
zones resolve seat > row > block > section; curved rows and blocks put seats where the doc
says; export and import round-trip exactly; the demo venues are what they claim."""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ticketbook.seating.demo_layouts import (
    concert_hall,
    concert_hall_document,
    section_block,
    stadium,
)
from ticketbook.seating.layout import (
    FORMAT,
    MAP_MARGIN,
    MAX_SEAT_CODE_BYTES,
    LayoutError,
    arc_points,
    layout_document,
    line_row,
    make_layout,
    parse_layout,
    rectangular_block,
    row_label,
    row_label_index,
    row_labels,
)
from ticketbook.seating.model import Layout, Point, Seat, SeatFlag, Section, Stage, Zone
from ticketbook.tickets import codes

DOCS = Path(__file__).resolve().parents[2] / "docs" / "seating.md"


def _line(x0: float, y0: float, x1: float, y1: float, count: int, **more: Any) -> dict[str, Any]:
    return {"from": {"x": x0, "y": y0}, "to": {"x": x1, "y": y1}, "count": count, **more}


def _doc() -> dict[str, Any]:
    """A small valid layout: a listed row, a generated row and a block."""
    return {
        "format": FORMAT,
        "name": "Test Hall",
        "stage": {"x": 0, "y": 0, "width": 100, "height": 20},
        "zones": [
            {"key": "premium", "name": "Premium"},
            {"key": "standard", "name": "Standard"},
        ],
        "sections": [
            {
                "key": "A",
                "name": "Stalls",
                "zone": "standard",
                "rows": [
                    {
                        "label": "A",
                        "seats": [
                            {"label": "1", "x": 10, "y": 40},
                            {"label": "2", "x": 22, "y": 40},
                            {"label": "3", "x": 34, "y": 40},
                        ],
                    },
                    {"label": "B", "line": _line(10, 54, 58, 54, 5)},
                ],
                "blocks": [
                    {
                        "rows": 2,
                        "seatsPerRow": 4,
                        "origin": {"x": 10, "y": 70},
                        "seatSpacing": 12,
                        "rowSpacing": 14,
                        "firstRow": "C",
                    }
                ],
            }
        ],
    }


def _refused(document: object) -> LayoutError:
    with pytest.raises(LayoutError) as caught:
        parse_layout(document)
    return caught.value


def _changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    doc = _doc()
    change(doc)
    return doc


def _section(doc: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = doc["sections"][0]
    return section


def _row(doc: dict[str, Any], i: int) -> dict[str, Any]:
    row: dict[str, Any] = _section(doc)["rows"][i]
    return row


def _block(doc: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = _section(doc)["blocks"][0]
    return block


def _seat(doc: dict[str, Any], k: int) -> dict[str, Any]:
    seat: dict[str, Any] = _row(doc, 0)["seats"][k]
    return seat


def _by_code(layout: Layout) -> dict[str, Seat]:
    return {s.code: s for s in layout.seats}


def _second_section(doc: dict[str, Any], key: str = "A") -> None:
    doc["sections"].append(
        {
            "key": key,
            "name": "Other",
            "zone": "standard",
            "rows": [{"label": "A", "line": _line(0, 200, 10, 200, 2)}],
        }
    )


# --- the valid document -------------------------------------------------------------------------


def test_the_small_document_parses_in_order_with_positions() -> None:
    layout = parse_layout(_doc())
    assert layout.name == "Test Hall"
    assert [z.key for z in layout.zones] == ["premium", "standard"]
    (section,) = layout.sections
    # Listed rows first, in order, then the block's rows.
    assert [r.label for r in section.rows] == ["A", "B", "C", "D"]
    assert [s.code for s in section.rows[0].seats] == ["A:A:1", "A:A:2", "A:A:3"]
    assert [s.label for s in section.rows[1].seats] == ["1", "2", "3", "4", "5"]
    for row in section.rows:
        assert [s.position for s in row.seats] == list(range(len(row.seats)))
        assert all(s.row == row.label and s.section == "A" for s in row.seats)
    assert len(layout.seats) == 3 + 5 + 8
    assert layout.ordinal_of["A:C:1"] == 8


def test_listed_seats_keep_their_listed_order_as_positions() -> None:
    doc = _doc()
    # Listed right to left: position follows the list, not x.
    _row(doc, 0)["seats"] = [
        {"label": "3", "x": 34, "y": 40},
        {"label": "2", "x": 22, "y": 40},
        {"label": "1", "x": 10, "y": 40},
    ]
    row = parse_layout(doc).sections[0].rows[0]
    assert [(s.label, s.position) for s in row.seats] == [("3", 0), ("2", 1), ("1", 2)]


def test_the_map_is_shifted_to_start_at_the_margin_and_sized_around_everything() -> None:
    doc = _doc()
    doc["stage"] = {"x": -500, "y": -300, "width": 100, "height": 20, "label": "Main stage"}
    layout = parse_layout(doc)
    xs = [s.x for s in layout.seats] + [layout.stage.x, layout.stage.x + layout.stage.width]
    ys = [s.y for s in layout.seats] + [layout.stage.y, layout.stage.y + layout.stage.height]
    assert min(xs) == MAP_MARGIN and min(ys) == MAP_MARGIN
    assert layout.width == max(xs) + MAP_MARGIN
    assert layout.height == max(ys) + MAP_MARGIN
    assert layout.stage == Stage(20, 20, 100, 20, "Main stage")
    # Relative positions are kept: seat A:A:1 was 510 right of and 340 below the stage.
    seat = _by_code(layout)["A:A:1"]
    assert (seat.x - layout.stage.x, seat.y - layout.stage.y) == (510, 340)
    # A fitted layout doesn't move again.
    assert make_layout(layout.name, layout.stage, layout.zones, layout.sections) == layout


def test_coordinates_are_rounded_to_two_decimals() -> None:
    doc = _doc()
    doc["stage"]["x"] = 0.004  # rounds to 0, and stays the box's left edge
    _seat(doc, 0).update(x=10.456, y=40.001)
    seat = _by_code(parse_layout(doc))["A:A:1"]
    assert seat.x == pytest.approx(10.46 + 20, abs=1e-9)
    assert seat.y == 60.0
    assert round(seat.x, 2) == seat.x


def test_the_stage_label_defaults_and_flags_are_read() -> None:
    doc = _doc()
    _seat(doc, 1)["flags"] = ["wheelchair", "restricted_view"]
    _row(doc, 1)["flags"] = {"5": ["companion"]}
    layout = parse_layout(doc)
    assert layout.stage.label == "Stage"
    seats = _by_code(layout)
    assert seats["A:A:2"].flags == {SeatFlag.WHEELCHAIR, SeatFlag.RESTRICTED_VIEW}
    assert seats["A:B:5"].flags == {SeatFlag.COMPANION}
    assert seats["A:A:1"].flags == frozenset() and seats["A:B:4"].flags == frozenset()


# --- refusals, each naming its path -------------------------------------------------------------


def _with_zones(count: int) -> Callable[[dict[str, Any]], object]:
    def change(d: dict[str, Any]) -> None:
        d["zones"] = [{"key": f"z{i}", "name": f"Z{i}"} for i in range(count)]
        d["zones"][0]["key"] = "standard"
        d["zones"][1]["key"] = "premium"

    return change


REFUSALS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("format-missing", lambda d: d.pop("format"), "format: required"),
    (
        "format-wrong",
        lambda d: d.update(format="ticketbook.layout/2"),
        'format: must be "ticketbook.layout/1"',
    ),
    ("unknown-top-field", lambda d: d.update(venue="x"), "venue: unknown field"),
    ("name-empty", lambda d: d.update(name=""), "name: String should have at least 1 character"),
    ("name-not-a-string", lambda d: d.update(name=5), "name: must be a string"),
    ("stage-missing", lambda d: d.pop("stage"), "stage: required"),
    (
        "stage-width-zero",
        lambda d: d["stage"].update(width=0),
        "stage.width: Input should be greater than 0",
    ),
    ("stage-x-text", lambda d: d["stage"].update(x="0"), "stage.x: must be a number"),
    (
        "zones-empty",
        lambda d: d.update(zones=[]),
        "zones: List should have at least 1 item after validation, not 0",
    ),
    (
        "zones-21",
        _with_zones(21),
        "zones: List should have at most 20 items after validation, not 21",
    ),
    ("zones-not-a-list", lambda d: d.update(zones={}), "zones: must be an array"),
    (
        "zone-key-duplicate",
        lambda d: d["zones"].append({"key": "premium", "name": "Again"}),
        'zones[2].key: duplicate zone key "premium"',
    ),
    (
        "zone-key-colon",
        lambda d: d["zones"][1].update(key="a:b"),
        'zones[1].key: may not contain ":"',
    ),
    ("zone-name-missing", lambda d: d["zones"][0].pop("name"), "zones[0].name: required"),
    (
        "sections-empty",
        lambda d: d.update(sections=[]),
        "sections: List should have at least 1 item after validation, not 0",
    ),
    ("section-key-duplicate", _second_section, 'sections[1].key: duplicate section key "A"'),
    (
        "section-key-colon",
        lambda d: _section(d).update(key="A:1"),
        'sections[0].key: may not contain ":"',
    ),
    (
        "section-key-17-chars",
        lambda d: _section(d).update(key="S" * 17),
        "sections[0].key: String should have at most 16 characters",
    ),
    (
        "section-without-rows",
        lambda d: _section(d).update(rows=[], blocks=[]),
        'sections[0]: a section needs "rows" or "blocks"',
    ),
    (
        "section-unknown-zone",
        lambda d: _section(d).update(zone="vip"),
        'sections[0].zone: unknown zone "vip"',
    ),
    (
        "row-label-colon",
        lambda d: _row(d, 1).update(label="B:"),
        'sections[0].rows[1].label: may not contain ":"',
    ),
    (
        "row-label-empty",
        lambda d: _row(d, 1).update(label=""),
        "sections[0].rows[1].label: String should have at least 1 character",
    ),
    (
        "row-label-duplicate",
        lambda d: _row(d, 1).update(label="A"),
        'sections[0].rows[1].label: duplicate row label "A" in section A',
    ),
    (
        "block-row-duplicates-listed-row",
        lambda d: _block(d).update(firstRow="B"),
        "sections[0].blocks[0]: its row B is already in section A",
    ),
    (
        "row-seats-and-line",
        lambda d: _row(d, 0).update(line=_line(0, 0, 1, 0, 2)),
        'sections[0].rows[0]: give either "seats" or "line", not both',
    ),
    (
        "row-neither",
        lambda d: _row(d, 0).pop("seats"),
        'sections[0].rows[0]: a row needs "seats" (listed) or "line" (generated)',
    ),
    (
        "row-unknown-zone",
        lambda d: _row(d, 1).update(zone="vip"),
        'sections[0].rows[1].zone: unknown zone "vip"',
    ),
    (
        "row-unknown-field",
        lambda d: _row(d, 1).update(seatCount=3),
        "sections[0].rows[1].seatCount: unknown field",
    ),
    (
        "listed-row-with-flags-map",
        lambda d: _row(d, 0).update(flags={"1": ["wheelchair"]}),
        'sections[0].rows[0].flags: only for a "line" row: give each seat its own "flags"',
    ),
    (
        "listed-row-no-seats",
        lambda d: _row(d, 0).update(seats=[]),
        "sections[0].rows[0].seats: List should have at least 1 item after validation, not 0",
    ),
    (
        "listed-row-201-seats",
        lambda d: _row(d, 0).update(seats=[{"label": str(i), "x": i, "y": 40} for i in range(201)]),
        "sections[0].rows[0].seats: List should have at most 200 items after validation, not 201",
    ),
    (
        "seat-label-duplicate",
        lambda d: _seat(d, 2).update(label="2"),
        'sections[0].rows[0].seats[2].label: duplicate seat label "2" in row A',
    ),
    (
        "seat-label-colon",
        lambda d: _seat(d, 2).update(label="1:2"),
        'sections[0].rows[0].seats[2].label: may not contain ":"',
    ),
    (
        "seat-label-number",
        lambda d: _seat(d, 0).update(label=1),
        "sections[0].rows[0].seats[0].label: must be a string",
    ),
    (
        "seat-unknown-zone",
        lambda d: _seat(d, 1).update(zone="vip"),
        'sections[0].rows[0].seats[1].zone: unknown zone "vip"',
    ),
    (
        "seat-unknown-flag",
        lambda d: _seat(d, 1).update(flags=["vip"]),
        "sections[0].rows[0].seats[1].flags[0]:"
        " Input should be 'wheelchair', 'companion' or 'restricted_view'",
    ),
    ("seat-x-missing", lambda d: _seat(d, 1).pop("x"), "sections[0].rows[0].seats[1].x: required"),
    (
        "seat-x-nan",
        lambda d: _seat(d, 1).update(x=math.nan),
        "sections[0].rows[0].seats[1].x: must be a finite number",
    ),
    (
        "seat-y-infinite",
        lambda d: _seat(d, 1).update(y=math.inf),
        "sections[0].rows[0].seats[1].y: must be a finite number",
    ),
    (
        "seat-x-bool",
        lambda d: _seat(d, 1).update(x=True),
        "sections[0].rows[0].seats[1].x: must be a number",
    ),
    (
        "seat-x-too-far",
        lambda d: _seat(d, 1).update(x=1e7),
        "sections[0].rows[0].seats[1].x: Input should be less than or equal to 1000000",
    ),
    (
        "seat-snake-case-field",
        lambda d: _seat(d, 1).update(seat_label="x"),
        "sections[0].rows[0].seats[1].seat_label: unknown field",
    ),
    (
        "line-count-zero",
        lambda d: _row(d, 1)["line"].update(count=0),
        "sections[0].rows[1].line.count: Input should be greater than or equal to 1",
    ),
    (
        "line-count-201",
        lambda d: _row(d, 1)["line"].update(count=201),
        "sections[0].rows[1].line.count: Input should be less than or equal to 200",
    ),
    (
        "line-count-float",
        lambda d: _row(d, 1)["line"].update(count=5.0),
        "sections[0].rows[1].line.count: must be a whole number",
    ),
    (
        "line-from-missing",
        lambda d: _row(d, 1)["line"].pop("from"),
        "sections[0].rows[1].line.from: required",
    ),
    (
        "line-ends-equal",
        lambda d: _row(d, 1).update(line=_line(5, 5, 5, 5, 3)),
        "sections[0].rows[1].line.to: must differ from line.from for 2 seats or more",
    ),
    (
        "line-first-seat-negative",
        lambda d: _row(d, 1)["line"].update(firstSeat=-1),
        "sections[0].rows[1].line.firstSeat: Input should be greater than or equal to 0",
    ),
    (
        "line-flags-unknown-seat",
        lambda d: _row(d, 1).update(flags={"6": ["wheelchair"]}),
        'sections[0].rows[1].flags["6"]: no seat "6" in row B (seats 1-5)',
    ),
    (
        "line-flags-leading-zero",
        lambda d: _row(d, 1).update(flags={"01": ["wheelchair"]}),
        'sections[0].rows[1].flags["01"]: no seat "01" in row B (seats 1-5)',
    ),
    (
        "line-flags-unknown-flag",
        lambda d: _row(d, 1).update(flags={"1": ["comfy"]}),
        'sections[0].rows[1].flags["1"][0]:'
        " Input should be 'wheelchair', 'companion' or 'restricted_view'",
    ),
    (
        "block-unknown-zone",
        lambda d: _block(d).update(zone="vip"),
        'sections[0].blocks[0].zone: unknown zone "vip"',
    ),
    (
        "block-zone-by-row-unknown-zone",
        lambda d: _block(d).update(zoneByRow={"D": "vip"}),
        'sections[0].blocks[0].zoneByRow["D"]: unknown zone "vip"',
    ),
    (
        "block-zone-by-row-unknown-row",
        lambda d: _block(d).update(zoneByRow={"Q": "premium"}),
        'sections[0].blocks[0].zoneByRow["Q"]: no row "Q" in this block (rows C-D)',
    ),
    (
        "block-zone-by-row-not-text",
        lambda d: _block(d).update(zoneByRow={"C": 1}),
        'sections[0].blocks[0].zoneByRow["C"]: must be a string',
    ),
    (
        "block-first-row-lowercase",
        lambda d: _block(d).update(firstRow="c"),
        'sections[0].blocks[0].firstRow: must be capital letters A-Z, such as "A" or "AA"',
    ),
    (
        "block-first-row-digits",
        lambda d: _block(d).update(firstRow="1"),
        'sections[0].blocks[0].firstRow: must be capital letters A-Z, such as "A" or "AA"',
    ),
    (
        "block-rows-zero",
        lambda d: _block(d).update(rows=0),
        "sections[0].blocks[0].rows: Input should be greater than or equal to 1",
    ),
    (
        "block-201-per-row",
        lambda d: _block(d).update(seatsPerRow=201),
        "sections[0].blocks[0].seatsPerRow: Input should be less than or equal to 200",
    ),
    (
        "block-spacing-negative",
        lambda d: _block(d).update(seatSpacing=-12),
        "sections[0].blocks[0].seatSpacing: Input should be greater than 0",
    ),
    (
        "block-origin-missing",
        lambda d: _block(d).pop("origin"),
        "sections[0].blocks[0].origin: required",
    ),
    (
        "block-too-many-seats",
        lambda d: _block(d).update(rows=501, seatsPerRow=200),
        "sections[0].blocks[0]: the layout would have more than 100000 seats",
    ),
    (
        "block-row-label-too-long",
        lambda d: _block(d).update(firstRow="Z" * 16),
        "sections[0].blocks[0]: row label AAAAAAAAAAAAAAAAA would be longer than 16 characters",
    ),
    (
        "several-problems",
        lambda d: d.update(name="", format="x"),
        'format: must be "ticketbook.layout/1" (and 1 more problem)',
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [(c, m) for _, c, m in REFUSALS], ids=[i for i, _, _ in REFUSALS]
)
def test_a_refusal_names_the_path_of_the_problem(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    doc = _changed(change)
    error = _refused(doc)
    assert str(error) == message
    assert f"{error.path}: {error.problem}" == message
    assert isinstance(error, ValueError)


def test_the_paths_reach_deep_into_the_document() -> None:
    doc = _doc()
    for i in range(3):
        _second_section(doc, key=f"S{i}")
    rows = doc["sections"][2]["rows"]
    rows.extend(
        {"label": label, "line": _line(0, 210 + i * 10, 10, 210 + i * 10, 2)}
        for i, label in enumerate("BCDE")
    )
    rows.append(
        {"label": "F", "seats": [{"label": str(n), "x": n * 12, "y": 300} for n in (10, 11, 12)]}
    )
    rows[5]["seats"].append({"label": "12", "x": 48, "y": 300})
    assert (
        str(_refused(doc))
        == 'sections[2].rows[5].seats[3].label: duplicate seat label "12" in row F'
    )


def test_a_document_that_is_not_an_object_is_refused() -> None:
    documents: tuple[object, ...] = ([], "layout", None, 3)
    for document in documents:
        assert str(_refused(document)) == "document: must be an object"


def test_a_seat_with_no_zone_anywhere_is_refused_where_it_is() -> None:
    doc = _doc()
    del _section(doc)["zone"]
    _row(doc, 1)["zone"] = "standard"
    _block(doc)["zone"] = "standard"
    _seat(doc, 0)["zone"] = "premium"
    _seat(doc, 2)["zone"] = "premium"
    assert str(_refused(doc)) == (
        'sections[0].rows[0].seats[1]: no zone: give the seat, its row or its section a "zone"'
    )
    _seat(doc, 1)["zone"] = "premium"
    parse_layout(doc)
    del _row(doc, 1)["zone"]
    assert (
        str(_refused(doc)) == 'sections[0].rows[1]: no zone: give the row or its section a "zone"'
    )
    _row(doc, 1)["zone"] = "standard"
    del _block(doc)["zone"]
    _block(doc)["zoneByRow"] = {"C": "premium"}
    assert str(_refused(doc)) == (
        'sections[0].blocks[0]: no zone for row D: give the block or its section a "zone",'
        ' or the row one in "zoneByRow"'
    )
    _block(doc)["zoneByRow"]["D"] = "standard"
    assert {s.zone for s in parse_layout(doc).sections[0].rows[3].seats} == {"standard"}


def test_an_overridden_unknown_zone_is_still_refused() -> None:
    doc = _doc()
    _section(doc)["zone"] = "typo"
    for seat in _row(doc, 0)["seats"]:
        seat["zone"] = "standard"
    _row(doc, 1)["zone"] = "standard"
    _block(doc)["zone"] = "standard"
    assert str(_refused(doc)) == 'sections[0].zone: unknown zone "typo"'


def test_the_seat_limit_counts_the_whole_layout() -> None:
    doc = _doc()  # 16 seats
    big = {
        "rows": 499,
        "seatsPerRow": 200,
        "origin": {"x": 0, "y": 0},
        "seatSpacing": 1,
        "rowSpacing": 1,
    }
    doc["sections"].append({"key": "B", "name": "B", "zone": "standard", "blocks": [big]})
    assert len(parse_layout(doc).seats) == 16 + 99_800
    # One more section of 200 seats goes past 100,000.
    doc["sections"].append(
        {
            "key": "C",
            "name": "C",
            "zone": "standard",
            "rows": [{"label": "A", "line": _line(0, 0, 10, 0, 200)}],
        }
    )
    assert str(_refused(doc)) == "sections[2].rows[0]: the layout would have more than 100000 seats"
    # 100,000 exactly is allowed.
    doc["sections"][2]["rows"][0]["line"]["count"] = 184
    assert len(parse_layout(doc).seats) == 100_000


def test_a_layout_error_survives_pickling_of_its_args() -> None:
    error = LayoutError("zones[0].key", "duplicate")
    assert error.args == ("zones[0].key", "duplicate")
    assert LayoutError(*error.args).path == "zones[0].key"
    assert str(error) == "zones[0].key: duplicate"


# --- zone resolution ----------------------------------------------------------------------------


def test_zones_resolve_seat_then_row_then_section() -> None:
    doc = _doc()
    doc["zones"].append({"key": "box", "name": "Box"})
    _row(doc, 0)["zone"] = "premium"
    _seat(doc, 1)["zone"] = "box"
    seats = _by_code(parse_layout(doc))
    assert [seats[f"A:A:{n}"].zone for n in (1, 2, 3)] == ["premium", "box", "premium"]
    assert seats["A:B:1"].zone == "standard"  # no row zone: the section's
    del _row(doc, 0)["zone"]
    seats = _by_code(parse_layout(doc))
    assert [seats[f"A:A:{n}"].zone for n in (1, 2, 3)] == ["standard", "box", "standard"]


def test_a_generated_rows_zone_beats_its_sections() -> None:
    doc = _doc()
    _row(doc, 1)["zone"] = "premium"
    seats = parse_layout(doc).sections[0].rows[1].seats
    assert {s.zone for s in seats} == {"premium"}


def test_block_zones_resolve_zone_by_row_then_block_then_section() -> None:
    doc = _doc()
    doc["zones"].append({"key": "box", "name": "Box"})
    _block(doc)["rows"] = 3  # C, D, E
    rows = parse_layout(doc).sections[0].rows
    assert [{s.zone for s in r.seats} for r in rows[2:]] == [{"standard"}] * 3
    _block(doc)["zone"] = "premium"
    _block(doc)["zoneByRow"] = {"D": "box"}
    rows = parse_layout(doc).sections[0].rows
    assert [r.label for r in rows[2:]] == ["C", "D", "E"]
    assert [{s.zone for s in r.seats} for r in rows[2:]] == [{"premium"}, {"box"}, {"premium"}]
    del _block(doc)["zone"]
    rows = parse_layout(doc).sections[0].rows
    assert [{s.zone for s in r.seats} for r in rows[2:]] == [{"standard"}, {"box"}, {"standard"}]


# --- curved rows --------------------------------------------------------------------------------


def _distance_to_line(p: Point, a: Point, b: Point) -> float:
    """Signed: positive to the right of a → b with y downwards."""
    dx, dy = b.x - a.x, b.y - a.y
    return ((p.x - a.x) * -dy + (p.y - a.y) * dx) / math.hypot(dx, dy)


@pytest.mark.parametrize("bulge", [10.0, -10.0, 25.0, 80.0, -120.0])
@pytest.mark.parametrize(
    ("start", "end"),
    [(Point(0, 0), Point(100, 0)), (Point(0, 0), Point(0, 100)), (Point(3, 7), Point(83, 67))],
    ids=["across", "down", "slanted"],
)
def test_a_curved_row_runs_end_to_end_through_its_bulge(
    start: Point, end: Point, bulge: float
) -> None:
    points = arc_points(start, end, 9, bulge)
    assert points[0] == start and points[-1] == end
    middle = points[4]
    chord_middle = Point((start.x + end.x) / 2, (start.y + end.y) / 2)
    assert math.dist((middle.x, middle.y), (chord_middle.x, chord_middle.y)) == pytest.approx(
        abs(bulge), abs=0.02
    )
    # Perpendicular to the chord, on the side the sign says.
    off = _distance_to_line(middle, start, end)
    assert off == pytest.approx(bulge, abs=0.02)
    # Every seat on one circle, spaced evenly along it.
    gaps = [math.dist((p.x, p.y), (q.x, q.y)) for p, q in itertools.pairwise(points)]
    assert max(gaps) - min(gaps) < 0.03
    sides = [_distance_to_line(p, start, end) for p in points[1:-1]]
    assert all(s * bulge > 0 for s in sides)


def test_the_sign_of_the_bulge_on_the_map() -> None:
    # Left to right with the stage above: positive bends down, away from the stage.
    down = arc_points(Point(0, 100), Point(100, 100), 3, 10)
    assert down[1] == Point(50, 110)
    up = arc_points(Point(0, 100), Point(100, 100), 3, -10)
    assert up[1] == Point(50, 90)
    # Going down the map, the right-hand side is -x.
    assert arc_points(Point(0, 0), Point(0, 100), 3, 10)[1] == Point(-10, 50)


def test_a_straight_row_is_evenly_spaced_and_one_seat_sits_at_from() -> None:
    assert arc_points(Point(0, 0), Point(40, 20), 5) == [
        Point(0, 0),
        Point(10, 5),
        Point(20, 10),
        Point(30, 15),
        Point(40, 20),
    ]
    assert arc_points(Point(5, 6), Point(50, 60), 1, bulge=30) == [Point(5, 6)]
    with pytest.raises(ValueError, match="at least one seat"):
        arc_points(Point(0, 0), Point(1, 1), 0)


def test_a_curved_row_in_a_document_has_its_middle_seat_on_the_bulge() -> None:
    doc = _doc()
    _row(doc, 1)["line"] = _line(10, 60, 130, 60, 11, bulge=15, firstSeat=101)
    row = parse_layout(doc).sections[0].rows[1]
    assert [s.label for s in row.seats] == [str(n) for n in range(101, 112)]
    first, middle, last = row.seats[0], row.seats[5], row.seats[-1]
    assert first.y == last.y
    assert last.x - first.x == 120
    assert middle.x == (first.x + last.x) / 2
    assert middle.y - first.y == pytest.approx(15, abs=0.01)
    # The seats sit further from the stage the nearer they are to the middle.
    ys = [s.y for s in row.seats]
    assert ys[:6] == sorted(ys[:6]) and ys[5:] == sorted(ys[5:], reverse=True)


# --- blocks -------------------------------------------------------------------------------------


def test_row_labels_go_a_to_z_then_aa() -> None:
    assert row_labels("A", 28) == [*"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "AA", "AB"]
    assert row_labels("Y", 4) == ["Y", "Z", "AA", "AB"]
    assert row_labels("AZ", 2) == ["AZ", "BA"]
    assert row_labels("ZZ", 2) == ["ZZ", "AAA"]
    for i in range(2000):
        assert row_label_index(row_label(i)) == i
    for bad in ("", "a", "1", "A1", "Ä"):
        with pytest.raises(ValueError):
            row_label_index(bad)
    with pytest.raises(ValueError):
        row_label(-1)


def test_a_block_labels_rows_and_numbers_seats_left_to_right() -> None:
    doc = _doc()
    _block(doc).update(rows=30, seatsPerRow=5, firstRow="A", firstSeat=11)
    _section(doc)["rows"] = []
    rows = parse_layout(doc).sections[0].rows
    assert [r.label for r in rows] == [*"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "AA", "AB", "AC", "AD"]
    for i, row in enumerate(rows):
        assert [s.label for s in row.seats] == ["11", "12", "13", "14", "15"]
        assert [s.position for s in row.seats] == [0, 1, 2, 3, 4]
        xs = [s.x for s in row.seats]
        assert [b - a for a, b in itertools.pairwise(xs)] == [12] * 4
        assert {s.y for s in row.seats} == {rows[0].seats[0].y + 14 * i}
    assert rows[27].seats[2].code == "A:AB:13"


def test_a_block_in_python_starts_at_its_origin() -> None:
    rows = rectangular_block(
        "S", 2, 3, Point(100, 50), seat_spacing=10, row_spacing=20, zone="z", first_row="Y"
    )
    assert [[(s.code, s.x, s.y) for s in r.seats] for r in rows] == [
        [("S:Y:1", 100, 50), ("S:Y:2", 110, 50), ("S:Y:3", 120, 50)],
        [("S:Z:1", 100, 70), ("S:Z:2", 110, 70), ("S:Z:3", 120, 70)],
    ]


def test_a_turned_block_turns_about_its_origin_clockwise() -> None:
    rows = rectangular_block(
        "S", 2, 3, Point(100, 50), seat_spacing=10, row_spacing=20, zone="z", angle=90
    )
    # Rows now run down the map and follow each other to the left.
    assert [[(s.x, s.y) for s in r.seats] for r in rows] == [
        [(100, 50), (100, 60), (100, 70)],
        [(80, 50), (80, 60), (80, 70)],
    ]
    turned = rectangular_block(
        "S", 3, 7, Point(0, 0), seat_spacing=10, row_spacing=20, zone="z", angle=30
    )
    for row in turned:
        for a, b in itertools.pairwise(row.seats):
            assert math.dist((a.x, a.y), (b.x, b.y)) == pytest.approx(10, abs=0.02)
            assert math.degrees(math.atan2(b.y - a.y, b.x - a.x)) == pytest.approx(30, abs=0.2)


def test_a_curved_block_bends_every_row_the_same() -> None:
    rows = rectangular_block(
        "S", 3, 9, Point(0, 0), seat_spacing=10, row_spacing=20, zone="z", bulge=12
    )
    for i, row in enumerate(rows):
        first, middle, last = row.seats[0], row.seats[4], row.seats[-1]
        assert (first.y, last.y) == (20 * i, 20 * i)
        assert middle.y - first.y == pytest.approx(12, abs=0.01)
        assert middle.x == (first.x + last.x) / 2


def test_python_generators_refuse_what_they_cant_place() -> None:
    with pytest.raises(ValueError, match="not in row"):
        line_row(
            "S", "A", Point(0, 0), Point(10, 0), 2, zone="z", flags={"3": [SeatFlag.COMPANION]}
        )
    with pytest.raises(ValueError, match="not in the block"):
        rectangular_block(
            "S", 2, 2, Point(0, 0), seat_spacing=1, row_spacing=1, zone="z", zone_by_row={"C": "z"}
        )
    with pytest.raises(ValueError, match="no zone"):
        rectangular_block("S", 2, 2, Point(0, 0), seat_spacing=1, row_spacing=1, zone=None)


# --- export and round trip ----------------------------------------------------------------------


def _curved_flagged_document() -> dict[str, Any]:
    doc = _doc()
    _row(doc, 1).update(
        zone="premium",
        line=_line(10.333, 54.777, 88.1, 61.2, 9, bulge=-7.777, firstSeat=3),
        flags={"3": ["wheelchair"], "4": ["companion"], "11": ["restricted_view", "companion"]},
    )
    _block(doc).update(bulge=9.5, angle=12.5, zoneByRow={"D": "premium"}, seatsPerRow=7)
    _seat(doc, 0)["flags"] = ["restricted_view"]
    _seat(doc, 2).update(zone="premium", x=33.999, y=40.004)
    return doc


@pytest.mark.parametrize(
    "make",
    [concert_hall, lambda: parse_layout(_curved_flagged_document()), lambda: stadium(5_000)],
    ids=["concert-hall", "curved-flagged", "stadium"],
)
def test_export_then_import_gives_the_same_layout(make: Callable[[], Layout]) -> None:
    layout = make()
    document = layout_document(layout)
    assert parse_layout(document) == layout
    # Through JSON text too: the numbers survive.
    again = parse_layout(json.loads(json.dumps(document)))
    assert again == layout
    assert [s.code for s in again.seats] == [s.code for s in layout.seats]
    assert layout_document(again) == document


def test_the_export_lists_every_seat_with_its_zone_and_only_real_flags() -> None:
    layout = parse_layout(_curved_flagged_document())
    document = layout_document(layout)
    assert document["format"] == FORMAT
    assert "width" not in document  # recomputed when read
    for section in document["sections"]:
        assert set(section) == {"key", "name", "rows"}
        for row in section["rows"]:
            assert set(row) == {"label", "seats"}
    seats = [s for sec in document["sections"] for r in sec["rows"] for s in r["seats"]]
    assert len(seats) == len(layout.seats)
    assert all(set(s) <= {"label", "x", "y", "zone", "flags"} and "zone" in s for s in seats)
    flagged = {
        s["label"]: s["flags"] for s in document["sections"][0]["rows"][1]["seats"] if "flags" in s
    }
    assert flagged == {
        "3": ["wheelchair"],
        "4": ["companion"],
        "11": ["companion", "restricted_view"],
    }
    assert all(s.get("flags") != [] for s in seats)


# --- the demo venues ----------------------------------------------------------------------------


def _closest_pair(layout: Layout) -> float:
    cell = 10.0
    grid: dict[tuple[int, int], list[Seat]] = {}
    for s in layout.seats:
        grid.setdefault((int(s.x // cell), int(s.y // cell)), []).append(s)
    best = math.inf
    for (gx, gy), here in grid.items():
        near = [
            t for dx in (-1, 0, 1) for dy in (-1, 0, 1) for t in grid.get((gx + dx, gy + dy), [])
        ]
        for s in here:
            for t in near:
                if t is not s:
                    best = min(best, math.dist((s.x, s.y), (t.x, t.y)))
    return best


def test_the_concert_hall() -> None:
    hall = concert_hall()
    assert hall.name == "Harbour Hall"
    assert len(hall.seats) >= 2000
    assert len(hall.sections) >= 4
    assert [z.key for z in hall.zones] == ["premium", "standard", "balcony"]
    codes = [s.code for s in hall.seats]
    assert len(set(codes)) == len(codes)
    assert {s.zone for s in hall.seats} == {"premium", "standard", "balcony"}
    # Front rows premium: every seat of rows A-H of the stalls, and only they.
    stalls = [s for s in hall.seats if s.section in {"SL", "SC", "SR"}]
    assert {s.zone == "premium" for s in stalls if s.row in "ABCDEFGH"} == {True}
    assert {s.zone for s in stalls if s.row not in "ABCDEFGH"} == {"standard"}
    # Curved: a stalls row's middle seat is further from the stage than its ends.
    row = next(r for r in hall.sections[1].rows if r.label == "F")
    assert row.seats[len(row.seats) // 2].y > row.seats[0].y + 5
    # Wheelchair spaces, each with a companion seat beside it in its row.
    wheelchair = [s for s in hall.seats if SeatFlag.WHEELCHAIR in s.flags]
    assert len(wheelchair) >= 3
    rows = {(s.section, s.row): r for sec in hall.sections for r in sec.rows for s in r.seats}
    for space in wheelchair:
        beside = [
            s
            for s in rows[(space.section, space.row)].seats
            if abs(s.position - space.position) == 1
        ]
        assert any(SeatFlag.COMPANION in s.flags for s in beside), space.code
    # Some at row ends.
    assert any(s.position in (0, len(rows[(s.section, s.row)].seats) - 1) for s in wheelchair)
    assert len([s for s in hall.seats if SeatFlag.RESTRICTED_VIEW in s.flags]) >= 2
    # Drawable: no seat on the stage, none on top of another.
    st = hall.stage
    assert not [
        s.code
        for s in hall.seats
        if st.x <= s.x <= st.x + st.width and st.y <= s.y <= st.y + st.height
    ]
    assert _closest_pair(hall) >= 10
    assert st.x > 0 and st.x + st.width < hall.width


def test_the_concert_hall_document_is_plain_json() -> None:
    document = concert_hall_document()
    assert parse_layout(json.loads(json.dumps(document))) == concert_hall()
    kinds = {
        "line" if "line" in r else "seats" for s in document["sections"] for r in s.get("rows", [])
    }
    assert kinds == {"line", "seats"}
    assert any(s.get("blocks") for s in document["sections"])


def test_the_stadium() -> None:
    arena = stadium(60_000)
    assert len(arena.seats) == 60_000
    assert len(arena.sections) >= 40
    codes = [s.code for s in arena.seats]
    assert len(set(codes)) == len(codes)
    assert len(arena.zones) >= 2 and {s.zone for s in arena.seats} == {z.key for z in arena.zones}
    assert arena.stage.label == "Pitch"
    assert max(len(r.seats) for sec in arena.sections for r in sec.rows) <= 200
    assert _closest_pair(arena) >= 9.9


@pytest.mark.parametrize("seats", [1, 47, 48, 12_345, 100_000])
def test_the_stadium_has_exactly_the_seats_asked_for(seats: int) -> None:
    assert len(stadium(seats).seats) == seats


def test_the_stadium_refuses_impossible_sizes() -> None:
    for seats in (0, 100_001):
        with pytest.raises(ValueError):
            stadium(seats)


def test_the_section_block() -> None:
    block = section_block(15, 20)
    assert len(block.seats) == 300
    assert [s.key for s in block.sections] == ["S"]
    assert len(block.zones) == 1 and {s.zone for s in block.seats} == {block.zones[0].key}
    assert [r.label for r in block.sections[0].rows] == list("ABCDEFGHIJKLMNO")
    assert block.seats[0].code == "S:A:1" and block.seats[-1].code == "S:O:20"
    assert block.ordinal_of["S:B:1"] == 20


def test_make_layout_fits_a_layout_built_in_python() -> None:
    rows = rectangular_block("S", 2, 2, Point(-50, -50), seat_spacing=10, row_spacing=10, zone="z")
    layout = make_layout(
        "Py", Stage(-50, -100, 10, 10), [Zone("z", "Z")], [Section("S", "S", rows)]
    )
    assert layout.stage.x == MAP_MARGIN and layout.stage.y == MAP_MARGIN
    assert (layout.width, layout.height) == (20 + 10 + 20, 20 + 60 + 20)
    assert parse_layout(layout_document(layout)) == layout


# --- the documentation --------------------------------------------------------------------------


def test_the_example_in_the_docs_is_a_valid_layout() -> None:
    text = DOCS.read_text()
    section = text.split("## Layout format", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert match is not None
    layout = parse_layout(json.loads(match.group(1)))
    seats = _by_code(layout)
    assert len(seats) == 11 + 3 + 55  # as the doc says
    assert seats["M:A:1"].flags == {SeatFlag.WHEELCHAIR} and seats["M:A:1"].zone == "front"
    assert seats["M:B:1"].zone == "back" and seats["M:B:3"].zone == "front"
    assert [r.label for r in layout.sections[0].rows] == list("ABCDEFG")


def test_a_document_is_not_changed_by_parsing() -> None:
    doc = _curved_flagged_document()
    before = copy.deepcopy(doc)
    parse_layout(doc)
    assert doc == before


# --- seat codes a ticket can carry --------------------------------------------------------------


def test_a_seat_code_longer_than_a_ticket_carries_is_refused_naming_the_seat() -> None:
    """Each part may be 16 characters, but "section:row:seat" must fit a ticket code's 32
    bytes (UTF-8): 16 + 1 + 16 + 1 + 1 is 35, refused where it is made."""
    assert MAX_SEAT_CODE_BYTES == codes.MAX_SEAT_BYTES
    doc = _doc()
    _section(doc)["key"] = "K" * 16
    _row(doc, 0)["label"] = "R" * 16
    error = _refused(doc)
    assert error.path == "sections[0].rows[0]"
    assert f'seat "{"K" * 16}:{"R" * 16}:1"' in error.problem and "35 bytes" in error.problem
    # Characters of more than one byte count as their bytes: 8 two-byte letters are 16.
    doc = _doc()
    _section(doc)["key"] = "É" * 8
    _row(doc, 1)["label"] = "Ü" * 8
    assert _refused(doc).path == "sections[0].rows[1]"
    # A block's generated labels are checked too.
    doc = _doc()
    _section(doc)["key"] = "Ž" * 15
    assert _refused(doc).path == "sections[0].rows[0]"
    doc = _doc()
    _section(doc)["rows"] = []
    _section(doc)["key"] = "Ž" * 15
    assert _refused(doc).path == "sections[0].blocks[0]"


def test_the_longest_seat_code_a_ticket_carries_is_accepted_and_encodes() -> None:
    doc = _doc()
    _section(doc)["key"] = "K" * 16
    _row(doc, 0)["label"] = "R" * 13  # 16 + 1 + 13 + 1 + 1 = 32 bytes
    _row(doc, 1)["label"] = "Q" * 13
    longest = max(parse_layout(doc).seats, key=lambda s: len(s.code.encode()))
    assert len(longest.code.encode()) == codes.MAX_SEAT_BYTES


@pytest.mark.parametrize(
    "layout",
    [concert_hall, lambda: stadium(60_000), lambda: stadium(100_000)],
    ids=["concert-hall", "stadium", "largest-stadium"],
)
def test_every_demo_seat_code_fits_a_ticket(layout: Callable[[], Layout]) -> None:
    assert max(len(s.code.encode()) for s in layout().seats) <= codes.MAX_SEAT_BYTES
