"""The venue layout JSON format (docs/seating.md, "Layout format"): parse, validate, export.

An organizer's document may list seats one by one or generate them: a row along a straight or
curved line, or a rectangular block of rows. `parse_layout` checks the document and turns it
into the normalized `model.Layout` (every seat explicit); `layout_document` writes a layout
back with every row explicit, and `parse_layout(layout_document(layout)) == layout`.

The generators (`arc_points`, `line_row`, `rectangular_block`, `row_labels`) and
`make_layout` are public so Python code (demo data, benchmarks) can build layouts the same way;
they trust their arguments more than the parser does: only `parse_layout` checks a whole layout.

Coordinates are map units, x to the right and y downwards (as in SVG), rounded to 2 decimals
when parsed so that an exported layout reads back exactly. The map is shifted so that the
bounding box of the seats and the stage starts at (MAP_MARGIN, MAP_MARGIN), and its size is
that box plus MAP_MARGIN on every side: the SVG's viewBox is then "0 0 width height".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel

from ticketbook.seating.model import (
    CODE_SEPARATOR,
    Layout,
    Point,
    Row,
    Seat,
    SeatFlag,
    Section,
    Stage,
    Zone,
)
from ticketbook.tickets.codes import MAX_SEAT_BYTES

FORMAT = "ticketbook.layout/1"
MAX_SEATS = 100_000
MAX_SEATS_PER_ROW = 200
MAX_ZONES = 20
MAX_CODE_LENGTH = 16  # a section key, zone key, row label or seat label
# "section:row:seat" in UTF-8, as a ticket's code carries it.
MAX_SEAT_CODE_BYTES = MAX_SEAT_BYTES
MAX_COORDINATE = 1_000_000.0  # keeps the arithmetic of curved rows far from overflow
MAP_MARGIN = 20.0
_DIGITS = 2  # coordinates are kept to 2 decimals

# --- the document's shape (pydantic) ------------------------------------------------------------

_Num = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False, ge=-MAX_COORDINATE, le=MAX_COORDINATE),
]
_Positive = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_COORDINATE)]
_Code = Annotated[StrictStr, Field(min_length=1, max_length=MAX_CODE_LENGTH)]
_Name = Annotated[StrictStr, Field(min_length=1, max_length=100)]
_SeatNumber = Annotated[StrictInt, Field(ge=0, le=999_999)]
_Flags = list[SeatFlag]


class _Doc(BaseModel):
    # camelCase only, as written in JSON; an unknown field is a mistake, not an extension.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class _PointDoc(_Doc):
    x: _Num
    y: _Num


class _StageDoc(_Doc):
    x: _Num
    y: _Num
    width: _Positive
    height: _Positive
    label: _Name = "Stage"


class _ZoneDoc(_Doc):
    key: _Code
    name: _Name


class _SeatDoc(_Doc):
    label: _Code
    x: _Num
    y: _Num
    zone: _Code | None = None
    flags: _Flags = []


class _LineDoc(_Doc):
    from_: _PointDoc = Field(alias="from")
    to: _PointDoc
    count: Annotated[StrictInt, Field(ge=1, le=MAX_SEATS_PER_ROW)]
    first_seat: _SeatNumber = 1
    bulge: _Num = 0.0


class _RowDoc(_Doc):
    label: _Code
    zone: _Code | None = None
    seats: Annotated[list[_SeatDoc], Field(min_length=1, max_length=MAX_SEATS_PER_ROW)] | None = (
        None
    )
    line: _LineDoc | None = None
    flags: dict[StrictStr, _Flags] | None = None


class _BlockDoc(_Doc):
    rows: Annotated[StrictInt, Field(ge=1, le=MAX_SEATS)]
    seats_per_row: Annotated[StrictInt, Field(ge=1, le=MAX_SEATS_PER_ROW)]
    origin: _PointDoc
    seat_spacing: _Positive
    row_spacing: _Positive
    first_row: _Code = "A"
    first_seat: _SeatNumber = 1
    zone: _Code | None = None
    bulge: _Num = 0.0
    angle: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-360, le=360)] = 0.0
    zone_by_row: dict[StrictStr, _Code] | None = None


class _SectionDoc(_Doc):
    key: _Code
    name: _Name
    zone: _Code | None = None
    rows: list[_RowDoc] = []
    blocks: list[_BlockDoc] = []


class _LayoutDoc(_Doc):
    format: Literal["ticketbook.layout/1"]
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    stage: _StageDoc
    zones: Annotated[list[_ZoneDoc], Field(min_length=1, max_length=MAX_ZONES)]
    sections: Annotated[list[_SectionDoc], Field(min_length=1)]


# pydantic's words for the usual mistakes, in the words of JSON (the others are kept).
_PROBLEMS = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "finite_number": "must be a finite number",
}

# Fields whose value is a map keyed by labels: their keys are written ["key"] in a path.
_MAP_FIELDS = frozenset({"flags", "zoneByRow"})


class LayoutError(ValueError):
    """A layout document is refused; `path` names where (``sections[0].rows[2].label``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# --- generators ---------------------------------------------------------------------------------


def _r(value: float) -> float:
    # "+ 0.0" turns -0.0 into 0.0, so that an exported map never shows "-0".
    return round(value, _DIGITS) + 0.0


def row_label_index(label: str) -> int:
    """The index of a letter row label: A → 0, Z → 25, AA → 26, AZ → 51, BA → 52."""
    if not label or not all("A" <= c <= "Z" for c in label):
        raise ValueError(f"a row label to count from is made of letters A-Z, not {label!r}")
    index = 0
    for c in label:
        index = index * 26 + (ord(c) - ord("A") + 1)
    return index - 1


def row_label(index: int) -> str:
    """The letter row label at an index: 0 → A, 25 → Z, 26 → AA (the inverse of
    `row_label_index`)."""
    if index < 0:
        raise ValueError(f"a row index is not negative, not {index}")
    letters: list[str] = []
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters.append(chr(ord("A") + rem))
    return "".join(reversed(letters))


def row_labels(first: str, count: int) -> list[str]:
    """`count` letter labels from `first` on: ("Y", 4) → Y, Z, AA, AB."""
    start = row_label_index(first)
    return [row_label(start + i) for i in range(count)]


def _arc(start: Point, end: Point, count: int, bulge: float) -> list[tuple[float, float]]:
    """Unrounded points of `arc_points`."""
    if count == 1:
        return [(start.x, start.y)]
    dx, dy = end.x - start.x, end.y - start.y
    chord = math.hypot(dx, dy)
    if bulge == 0 or chord == 0:
        return [
            (start.x + dx * i / (count - 1), start.y + dy * i / (count - 1)) for i in range(count)
        ]
    ux, uy = dx / chord, dy / chord  # along the chord
    # w points from the chord's middle to the arc's middle: (-uy, ux) is the right-hand side
    # of the way from start to end when y grows downwards.
    side = 1.0 if bulge > 0 else -1.0
    wx, wy = -uy * side, ux * side
    sagitta = abs(bulge)
    half = chord / 2
    radius = (half * half + sagitta * sagitta) / (2 * sagitta)
    # The centre's distance to the chord, negative past a semicircle; this form, unlike
    # radius - sagitta, loses nothing when the arc is nearly flat.
    apothem = (half * half - sagitta * sagitta) / (2 * sagitta)
    theta = math.atan2(half, apothem)  # half the angle the arc spans
    mx, my = start.x + dx / 2, start.y + dy / 2
    points = []
    for i in range(count):
        phi = -theta + 2 * theta * i / (count - 1)
        along = radius * math.sin(phi)
        # radius * (1 - cos phi), without the cancellation for small angles.
        out = sagitta - 2 * radius * math.sin(phi / 2) ** 2
        points.append((mx + ux * along + wx * out, my + uy * along + wy * out))
    # The ends are the given points exactly, not their recomputation.
    points[0] = (start.x, start.y)
    points[-1] = (end.x, end.y)
    return points


def arc_points(start: Point, end: Point, count: int, bulge: float = 0.0) -> list[Point]:
    """`count` points evenly spaced from `start` to `end` (both included), rounded to 2 decimals.

    With `bulge` 0 they lie on the straight line. Otherwise on the circular arc through both
    ends whose middle is `bulge` map units from the chord's middle, perpendicular to it: to the
    right of the way from `start` to `end` (y growing downwards) when positive, to the left when
    negative. A row numbered left to right with the stage above it bends away from the stage
    with a positive bulge, the usual curve of rows around a stage. Points are spaced evenly
    along the arc, so with an odd count the middle one is the arc's middle. One point is
    `start`.
    """
    if count < 1:
        raise ValueError(f"a row has at least one seat, not {count}")
    return [Point(_r(x), _r(y)) for x, y in _arc(start, end, count, bulge)]


def line_row(
    section: str,
    label: str,
    start: Point,
    end: Point,
    count: int,
    *,
    zone: str,
    first_seat: int = 1,
    bulge: float = 0.0,
    flags: Mapping[str, Iterable[SeatFlag]] | None = None,
) -> Row:
    """A row of `count` seats from `start` to `end` (see `arc_points`), labelled
    `first_seat`, `first_seat + 1`, … in that order; `flags` maps seat labels to their flags."""
    labels = [str(first_seat + i) for i in range(count)]
    flag_sets = {k: frozenset(v) for k, v in (flags or {}).items()}
    unknown = set(flag_sets) - set(labels)
    if unknown:
        raise ValueError(f"flags for seats not in row {label}: {sorted(unknown)}")
    return Row(
        label,
        tuple(
            Seat(
                section=section,
                row=label,
                label=seat_label,
                position=i,
                x=p.x,
                y=p.y,
                zone=zone,
                flags=flag_sets.get(seat_label, frozenset()),
            )
            for i, (seat_label, p) in enumerate(
                zip(labels, arc_points(start, end, count, bulge), strict=True)
            )
        ),
    )


def rectangular_block(
    section: str,
    rows: int,
    seats_per_row: int,
    origin: Point,
    *,
    seat_spacing: float,
    row_spacing: float,
    zone: str | None,
    first_row: str = "A",
    first_seat: int = 1,
    bulge: float = 0.0,
    angle: float = 0.0,
    zone_by_row: Mapping[str, str] | None = None,
) -> tuple[Row, ...]:
    """`rows` rows of `seats_per_row` seats: row `first_row` starts at `origin` and runs to the
    right (+x), every next row `row_spacing` further down (+y), seats `seat_spacing` apart along
    each row (along its arc when `bulge` bends it, as in `arc_points`). Rows are labelled
    A … Z, AA, AB … from `first_row`; seats are numbered from `first_seat` left to right.

    The whole block is then turned `angle` degrees about `origin`, clockwise on the map (y grows
    downwards). A row's zone is `zone_by_row[label]`, else `zone`.
    """
    zones = dict(zone_by_row or {})
    labels = row_labels(first_row, rows)
    unknown = set(zones) - set(labels)
    if unknown:
        raise ValueError(f"zone_by_row names rows not in the block: {sorted(unknown)}")
    turn = math.radians(angle)
    cos, sin = math.cos(turn), math.sin(turn)
    width = (seats_per_row - 1) * seat_spacing
    seat_labels = [str(first_seat + i) for i in range(seats_per_row)]
    out: list[Row] = []
    for r, row in enumerate(labels):
        row_zone = zones.get(row, zone)
        if row_zone is None:
            raise ValueError(f"row {row} of the block has no zone")
        y = r * row_spacing
        # Unrounded until turned, so that a turned block's rows stay parallel.
        local = _arc(Point(0.0, y), Point(width, y), seats_per_row, bulge)
        seats = tuple(
            Seat(
                section=section,
                row=row,
                label=seat_label,
                position=i,
                x=_r(origin.x + lx * cos - ly * sin),
                y=_r(origin.y + lx * sin + ly * cos),
                zone=row_zone,
            )
            for i, (seat_label, (lx, ly)) in enumerate(zip(seat_labels, local, strict=True))
        )
        out.append(Row(row, seats))
    return tuple(out)


def make_layout(
    name: str,
    stage: Stage,
    zones: Sequence[Zone],
    sections: Sequence[Section],
    *,
    margin: float = MAP_MARGIN,
) -> Layout:
    """The layout with its map fitted: everything shifted so that the bounding box of the seats
    and the stage starts at (margin, margin), and the map that box plus `margin` all round.

    Fitting a fitted layout changes nothing. It checks nothing else: run
    `parse_layout(layout_document(layout))` to check a layout built in Python.
    """
    seats = [s for section in sections for row in section.rows for s in row.seats]
    min_x = min([stage.x, *(s.x for s in seats)])
    min_y = min([stage.y, *(s.y for s in seats)])
    dx, dy = _r(margin - min_x), _r(margin - min_y)
    if dx or dy:
        stage = Stage(_r(stage.x + dx), _r(stage.y + dy), stage.width, stage.height, stage.label)
        sections = [
            Section(
                section.key,
                section.name,
                tuple(
                    Row(
                        row.label,
                        tuple(
                            Seat(
                                section=s.section,
                                row=s.row,
                                label=s.label,
                                position=s.position,
                                x=_r(s.x + dx),
                                y=_r(s.y + dy),
                                zone=s.zone,
                                flags=s.flags,
                            )
                            for s in row.seats
                        ),
                    )
                    for row in section.rows
                ),
            )
            for section in sections
        ]
    max_x = max(
        [stage.x + stage.width, *(s.x for sec in sections for row in sec.rows for s in row.seats)]
    )
    max_y = max(
        [stage.y + stage.height, *(s.y for sec in sections for row in sec.rows for s in row.seats)]
    )
    return Layout(
        name=name,
        stage=stage,
        zones=tuple(zones),
        sections=tuple(sections),
        width=_r(max_x + margin),
        height=_r(max_y + margin),
    )


# --- parsing ------------------------------------------------------------------------------------


def parse_layout(document: object) -> Layout:
    """The layout an organizer's document (decoded from JSON) describes.

    Raises LayoutError, naming the first problem and where it is, if the document is not a
    valid "ticketbook.layout/1" layout.
    """
    try:
        doc = _LayoutDoc.model_validate(document)
    except ValidationError as e:
        raise _shape_error(e) from None
    return _Parser(doc).layout()


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _shape_error(error: ValidationError) -> LayoutError:
    errors = error.errors(include_url=False)
    first = errors[0]
    path = ""
    in_map = False
    for part in first["loc"]:
        if part == "[key]":  # pydantic's marker for "the key itself is wrong"
            continue
        if isinstance(part, int):
            path += f"[{part}]"
            in_map = False
        elif in_map:  # a key of a map ("flags" of a row, not the "flags" list of a seat)
            path += f"[{_quote(part)}]"
            in_map = False
        else:
            path += f".{part}" if path else str(part)
            in_map = part in _MAP_FIELDS
    kind = first["type"]
    if kind == "literal_error" and path == "format":
        problem = f"must be {_quote(FORMAT)}"
    else:
        problem = _PROBLEMS.get(kind, first["msg"])
    if len(errors) > 1:
        more = len(errors) - 1
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return LayoutError(path or "document", problem)


def _point(p: _PointDoc) -> Point:
    return Point(_r(p.x), _r(p.y))


class _Parser:
    """Checks what the document's shape can't (references, uniqueness, limits) and builds."""

    def __init__(self, doc: _LayoutDoc) -> None:
        self.doc = doc
        self.zone_keys: set[str] = set()
        self.seat_count = 0

    def layout(self) -> Layout:
        doc = self.doc
        zones: list[Zone] = []
        for i, z in enumerate(doc.zones):
            self._code(z.key, f"zones[{i}].key")
            if z.key in self.zone_keys:
                raise LayoutError(f"zones[{i}].key", f"duplicate zone key {_quote(z.key)}")
            self.zone_keys.add(z.key)
            zones.append(Zone(z.key, z.name))
        sections: list[Section] = []
        keys: set[str] = set()
        for i, s in enumerate(doc.sections):
            path = f"sections[{i}]"
            self._code(s.key, f"{path}.key")
            if s.key in keys:
                raise LayoutError(f"{path}.key", f"duplicate section key {_quote(s.key)}")
            keys.add(s.key)
            sections.append(self._section(s, path))
        st = doc.stage
        stage = Stage(_r(st.x), _r(st.y), _r(st.width), _r(st.height), st.label)
        return make_layout(doc.name, stage, zones, sections)

    def _code(self, value: str, path: str) -> None:
        if CODE_SEPARATOR in value:
            raise LayoutError(path, f"may not contain {_quote(CODE_SEPARATOR)}")

    def _zone(self, key: str | None, path: str) -> None:
        if key is not None and key not in self.zone_keys:
            raise LayoutError(path, f"unknown zone {_quote(key)}")

    def _take(self, count: int, path: str) -> None:
        self.seat_count += count
        if self.seat_count > MAX_SEATS:
            raise LayoutError(path, f"the layout would have more than {MAX_SEATS} seats")

    def _section(self, s: _SectionDoc, path: str) -> Section:
        self._zone(s.zone, f"{path}.zone")
        if not s.rows and not s.blocks:
            raise LayoutError(path, 'a section needs "rows" or "blocks"')
        rows: list[Row] = []
        labels: set[str] = set()
        for j, r in enumerate(s.rows):
            rp = f"{path}.rows[{j}]"
            self._code(r.label, f"{rp}.label")
            if r.label in labels:
                raise LayoutError(
                    f"{rp}.label", f"duplicate row label {_quote(r.label)} in section {s.key}"
                )
            labels.add(r.label)
            rows.append(self._row(s, r, rp))
            self._seat_codes(rows[-1:], rp)
        for j, b in enumerate(s.blocks):
            bp = f"{path}.blocks[{j}]"
            block = self._block(s, b, bp, labels)
            self._seat_codes(block, bp)
            rows.extend(block)
        return Section(s.key, s.name, tuple(rows))

    def _seat_codes(self, rows: Iterable[Row], path: str) -> None:
        # A ticket's signed code carries its seat's code (tickets/codes.py): each of the three
        # parts may be 16 characters, but together, in UTF-8, they must fit its 32 bytes.
        for row in rows:
            for seat in row.seats:
                size = len(seat.code.encode())
                if size > MAX_SEAT_CODE_BYTES:
                    raise LayoutError(
                        path,
                        f"seat {_quote(seat.code)} would have a code of {size} bytes (UTF-8);"
                        f" a ticket carries at most {MAX_SEAT_CODE_BYTES}: shorten its"
                        " section key, row label or seat label",
                    )

    def _row(self, s: _SectionDoc, r: _RowDoc, path: str) -> Row:
        self._zone(r.zone, f"{path}.zone")
        if r.seats is not None and r.line is not None:
            raise LayoutError(path, 'give either "seats" or "line", not both')
        if r.seats is not None:
            if r.flags is not None:
                raise LayoutError(
                    f"{path}.flags", 'only for a "line" row: give each seat its own "flags"'
                )
            return self._explicit_row(s, r, r.seats, path)
        if r.line is None:
            raise LayoutError(path, 'a row needs "seats" (listed) or "line" (generated)')
        line = r.line
        zone = r.zone if r.zone is not None else s.zone
        if zone is None:
            raise LayoutError(path, 'no zone: give the row or its section a "zone"')
        start, end = _point(line.from_), _point(line.to)
        if line.count > 1 and start == end:
            raise LayoutError(f"{path}.line.to", "must differ from line.from for 2 seats or more")
        first, last = line.first_seat, line.first_seat + line.count - 1
        for label in r.flags or {}:
            if not (label.isdigit() and label == str(int(label)) and first <= int(label) <= last):
                raise LayoutError(
                    f"{path}.flags[{_quote(label)}]",
                    f"no seat {_quote(label)} in row {r.label} (seats {first}-{last})",
                )
        self._take(line.count, path)
        return line_row(
            s.key,
            r.label,
            start,
            end,
            line.count,
            zone=zone,
            first_seat=line.first_seat,
            bulge=_r(line.bulge),
            flags=r.flags,
        )

    def _explicit_row(
        self, s: _SectionDoc, r: _RowDoc, seat_docs: list[_SeatDoc], path: str
    ) -> Row:
        self._take(len(seat_docs), path)
        seats: list[Seat] = []
        labels: set[str] = set()
        for k, sd in enumerate(seat_docs):
            sp = f"{path}.seats[{k}]"
            self._code(sd.label, f"{sp}.label")
            if sd.label in labels:
                raise LayoutError(
                    f"{sp}.label", f"duplicate seat label {_quote(sd.label)} in row {r.label}"
                )
            labels.add(sd.label)
            self._zone(sd.zone, f"{sp}.zone")
            zone = next((z for z in (sd.zone, r.zone, s.zone) if z is not None), None)
            if zone is None:
                raise LayoutError(sp, 'no zone: give the seat, its row or its section a "zone"')
            seats.append(
                Seat(
                    section=s.key,
                    row=r.label,
                    label=sd.label,
                    position=k,
                    x=_r(sd.x),
                    y=_r(sd.y),
                    zone=zone,
                    flags=frozenset(sd.flags),
                )
            )
        return Row(r.label, tuple(seats))

    def _block(self, s: _SectionDoc, b: _BlockDoc, path: str, taken: set[str]) -> tuple[Row, ...]:
        self._zone(b.zone, f"{path}.zone")
        for row, key in (b.zone_by_row or {}).items():
            self._zone(key, f"{path}.zoneByRow[{_quote(row)}]")
        try:
            start = row_label_index(b.first_row)
        except ValueError:
            raise LayoutError(
                f"{path}.firstRow", 'must be capital letters A-Z, such as "A" or "AA"'
            ) from None
        # Before making labels: a block of a million rows is refused, not generated.
        self._take(b.rows * b.seats_per_row, path)
        labels = [row_label(start + i) for i in range(b.rows)]
        if len(labels[-1]) > MAX_CODE_LENGTH:
            raise LayoutError(
                path, f"row label {labels[-1]} would be longer than {MAX_CODE_LENGTH} characters"
            )
        in_block = set(labels)
        for row in b.zone_by_row or {}:
            if row not in in_block:
                raise LayoutError(
                    f"{path}.zoneByRow[{_quote(row)}]",
                    f"no row {_quote(row)} in this block (rows {labels[0]}-{labels[-1]})",
                )
        fallback = b.zone if b.zone is not None else s.zone
        for label in labels:
            if label in taken:
                raise LayoutError(path, f"its row {label} is already in section {s.key}")
            taken.add(label)
            if fallback is None and label not in (b.zone_by_row or {}):
                raise LayoutError(
                    path,
                    f'no zone for row {label}: give the block or its section a "zone",'
                    ' or the row one in "zoneByRow"',
                )
        return rectangular_block(
            s.key,
            b.rows,
            b.seats_per_row,
            _point(b.origin),
            seat_spacing=_r(b.seat_spacing),
            row_spacing=_r(b.row_spacing),
            zone=fallback,
            first_row=b.first_row,
            first_seat=b.first_seat,
            bulge=_r(b.bulge),
            angle=b.angle,
            zone_by_row=b.zone_by_row,
        )


# --- export -------------------------------------------------------------------------------------


def _num(value: float) -> float | int:
    # Whole numbers are written without ".0": shorter documents, the same values.
    value = float(value)  # layouts built in Python may hold ints
    return int(value) if value.is_integer() else value


def layout_document(layout: Layout) -> dict[str, Any]:
    """The layout as a "ticketbook.layout/1" document with every row and seat explicit and
    every seat's zone given (flags only where a seat has some)."""
    st = layout.stage
    return {
        "format": FORMAT,
        "name": layout.name,
        "stage": {
            "x": _num(st.x),
            "y": _num(st.y),
            "width": _num(st.width),
            "height": _num(st.height),
            "label": st.label,
        },
        "zones": [{"key": z.key, "name": z.name} for z in layout.zones],
        "sections": [
            {
                "key": section.key,
                "name": section.name,
                "rows": [
                    {"label": row.label, "seats": [_seat_document(s) for s in row.seats]}
                    for row in section.rows
                ],
            }
            for section in layout.sections
        ],
    }


_FLAG_ORDER = {flag: i for i, flag in enumerate(SeatFlag)}


def _seat_document(seat: Seat) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": seat.label,
        "x": _num(seat.x),
        "y": _num(seat.y),
        "zone": seat.zone,
    }
    if seat.flags:
        out["flags"] = [str(f) for f in sorted(seat.flags, key=_FLAG_ORDER.__getitem__)]
    return out
