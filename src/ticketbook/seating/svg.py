"""The seat map drawn on the server: SVG to embed in a page, and its legend as HTML.

Colours come only from CSS classes (``static/seatmap.css``): ``zone-N`` (N is the zone's index in
``Layout.zones``) and ``state-free|held|sold|blocked``; a selected seat is the one with
``aria-checked="true"``, so the page toggles one attribute and the look follows. Seats are
``<circle class="seat ...">`` elements with ``data-ordinal`` (their index in ``Layout.seats``,
the order of the seat-state encoding) and ``data-code``; ``seatmap.js`` updates their state from
the encoded states without re-rendering.

A stadium's full map is large (about 16 MB for 60,000 seats), so its page shows
`render_overview` first and then one section at a time (``section=KEY``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from html import escape
from itertools import pairwise

from ticketbook.seating.model import Layout, Row, Seat, SeatFlag, Section, Stage
from ticketbook.seating.states import SeatState

SVG_NS = "http://www.w3.org/2000/svg"
# The paint server a selected seat is filled with (a tick on dark ground), named from the CSS.
SELECTED_PATTERN_ID = "tb-seat-selected"

# Indexed by SeatState value.
STATE_WORDS = ("available", "held by another fan", "sold", "not for sale")
STATE_CLASSES = tuple(f"state-{s.css_name}" for s in SeatState)
FLAG_WORDS: tuple[tuple[SeatFlag, str], ...] = (
    (SeatFlag.WHEELCHAIR, "wheelchair space"),
    (SeatFlag.COMPANION, "companion seat"),
    (SeatFlag.RESTRICTED_VIEW, "restricted view"),
)
FLAG_CLASSES = {
    SeatFlag.WHEELCHAIR: "flag-wheelchair",
    SeatFlag.COMPANION: "flag-companion",
    SeatFlag.RESTRICTED_VIEW: "flag-restricted-view",
}
# Only a free seat takes focus; the others stay in the accessibility tree, announced as such.
_INTERACTIVE = tuple(
    'tabindex="0"' if s is SeatState.FREE else 'tabindex="-1" aria-disabled="true"'
    for s in SeatState
)

_DEFAULT_RADIUS = 5.0
_PRICE_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def render_seat_map(
    layout: Layout,
    states: Sequence[SeatState],
    prices: Mapping[str, str],
    *,
    selected: frozenset[str] = frozenset(),
    section: str | None = None,
) -> str:
    """The ``<svg>`` of the layout's seats (or of one section's, zoomed to it), each a checkbox.

    `states` has one entry per seat in ordinal order; `prices` maps zone keys to the price
    text shown ("$50.00"); `selected` holds the codes of the seats the fan has picked.
    """
    _check_states(layout, states)
    sections = _sections_with_offsets(layout, section)
    seats = [seat for s, _ in sections for row in s.rows for seat in row.seats]
    zone_index = _zone_index(layout, seats, prices)
    radius = _seat_radius(sections)
    font = radius * 3

    parts: list[str] = []
    labels: list[tuple[Section, float, float, float]] = []
    for sec, _ in sections:
        box = _bbox((s.x, s.y) for row in sec.rows for s in row.seats)
        if box is None:
            continue
        min_x, min_y, max_x, max_y = box
        y = min_y - radius - font * 0.4
        if layout.height > 0 and section is None and y - font < 0:
            y = max_y + radius + font  # no room above it on the map: name it below
        labels.append((sec, (min_x + max_x) / 2, y, len(sec.name) * font * 0.6))

    if section is None and layout.width > 0 and layout.height > 0:
        view = (0.0, 0.0, layout.width, layout.height)
    else:
        view = _view_box(seats, radius, labels, font, layout.stage if section is None else None)
    name = escape(layout.name)
    aria = f"Seat map of {name}"
    section_attr = ""
    if section is not None:
        sec_name = escape(sections[0][0].name)
        aria = f"{aria}, section {sec_name}"
        section_attr = f' data-section="{escape(section)}"'
    parts.append(
        f'<svg xmlns="{SVG_NS}" class="seat-map" viewBox="{_view(view)}" role="group"'
        f' aria-label="{aria}"{section_attr}>'
        f'<defs><pattern id="{SELECTED_PATTERN_ID}" class="seat-mark" width="1" height="1"'
        ' patternContentUnits="objectBoundingBox">'
        '<rect class="seat-mark__ground" width="1" height="1"/>'
        '<path class="seat-mark__tick" d="M.27 .52 .43 .68 .73 .35"/></pattern></defs>'
    )
    if section is None:
        # Sized for the map, not the seats: a stadium's pitch is named as large as it is.
        parts.append(_stage(layout.stage, max(font * 1.5, max(view[2], view[3]) / 30)))

    r_text = _num(radius)
    zone_classes = [f"seat zone-{i} " for i in range(len(layout.zones))]
    zone_prices = {key: escape(text) for key, text in prices.items()}
    words = STATE_WORDS
    state_classes = STATE_CLASSES
    interactive = _INTERACTIVE
    label_by_section = {sec.key: (x, y) for sec, x, y, _ in labels}
    for sec, ordinal in sections:
        key = escape(sec.key)
        sec_name = escape(sec.name)
        parts.append(
            f'<g class="section" data-section="{key}" role="group" aria-label="Section {sec_name}">'
        )
        if sec.key in label_by_section:
            lx, ly = label_by_section[sec.key]
            # The group's aria-label names it already; the drawn name is for the eye.
            parts.append(
                f'<text class="section__label" x="{_num(lx)}" y="{_num(ly)}"'
                f' font-size="{_num(font)}" text-anchor="middle" aria-hidden="true">'
                f"{sec_name}</text>"
            )
        for row in sec.rows:
            row_label = escape(row.label)
            code_prefix = f"{key}:{row_label}:"
            raw_prefix = f"{sec.key}:{row.label}:"
            text_prefix = f"Section {sec_name}, row {row_label}, seat "
            for seat in row.seats:
                state = states[ordinal]
                label = escape(seat.label)
                text = f"{text_prefix}{label}, {zone_prices[seat.zone]}, {words[state]}"
                classes = zone_classes[zone_index[seat.zone]] + state_classes[state]
                if seat.flags:
                    text += "".join(f", {w}" for f, w in FLAG_WORDS if f in seat.flags)
                    classes += "".join(
                        f" {FLAG_CLASSES[f]}" for f, _ in FLAG_WORDS if f in seat.flags
                    )
                checked = "true" if selected and raw_prefix + seat.label in selected else "false"
                parts.append(
                    f'<circle class="{classes}" cx="{seat.x:g}" cy="{seat.y:g}" r="{r_text}"'
                    f' data-code="{code_prefix}{label}" data-ordinal="{ordinal}"'
                    f' {interactive[state]} role="checkbox" aria-checked="{checked}"'
                    f' aria-label="{text}"><title>{text}</title></circle>'
                )
                ordinal += 1
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def render_overview(
    layout: Layout,
    states: Sequence[SeatState],
    prices: Mapping[str, str],
    *,
    section_href: Callable[[str], str] | None = None,
) -> str:
    """An ``<svg>`` with one control per section (a hull around its seats) and the stage.

    Each control has ``data-section`` and an aria-label with the section's free seats and its
    cheapest free price. With `section_href` (section key → URL) the controls are links, which
    work without script; without it they are ``role="button"`` groups the page's script wires.
    """
    _check_states(layout, states)
    sections = _sections_with_offsets(layout, None)
    _zone_index(layout, layout.seats, prices)
    radius = _seat_radius(sections)
    pad = radius * 1.8

    shapes: list[tuple[Section, list[tuple[float, float]], str]] = []
    all_points: list[tuple[float, float]] = []
    for sec, ordinal in sections:
        seats = [s for row in sec.rows for s in row.seats]
        if not seats:
            continue
        hull = _padded_hull(sec.rows, pad)
        all_points.extend(hull)
        shapes.append((sec, hull, _availability(sec.name, seats, states, ordinal, prices)))

    if layout.width > 0 and layout.height > 0:
        view = (0.0, 0.0, layout.width, layout.height)
    else:
        stage = layout.stage
        all_points += [(stage.x, stage.y), (stage.x + stage.width, stage.y + stage.height)]
        box = _bbox(all_points) or (0.0, 0.0, 1.0, 1.0)
        view = _padded(box, pad)
    font = max(view[2], view[3]) / 35  # the overview is seen whole: text scales with the map

    parts = [
        f'<svg xmlns="{SVG_NS}" class="seat-map seat-map--overview" viewBox="{_view(view)}"'
        f' role="group" aria-label="Sections of {escape(layout.name)}">',
        _stage(layout.stage, font * 1.5),
    ]
    # One text and one size for all the names, so the map reads evenly: the names if each fits
    # its shape legibly, else the (shorter) keys ("Section 101" → "101").
    boxes = [_bbox(hull) or (0.0, 0.0, 0.0, 0.0) for _, hull, _ in shapes]

    def fits(texts: list[str]) -> list[float]:
        return [
            min(font, (y1 - y0) * 0.6, (x1 - x0) / max(len(t), 1) * 1.6)
            for t, (x0, y0, x1, y1) in zip(texts, boxes, strict=True)
        ]

    shown = [sec.name for sec, _, _ in shapes]
    sizes = fits(shown)
    if any(size < font * 0.5 for size in sizes):
        keys = [sec.key if len(sec.key) < len(sec.name) else sec.name for sec, _, _ in shapes]
        if min(fits(keys)) > min(sizes):
            shown, sizes = keys, fits(keys)
    size = max(min(sizes, default=font), font * 0.4)
    for (sec, hull, aria), text, (min_x, min_y, max_x, max_y) in zip(
        shapes, shown, boxes, strict=True
    ):
        key = escape(sec.key)
        points = " ".join(f"{x:g},{y:g}" for x, y in hull)
        sold_out = "" if ", from " in aria else " section-shape--sold-out"
        inner = (
            f'<polygon class="section-shape{sold_out}" points="{points}"/>'
            f'<text class="section-shape__label" x="{_num((min_x + max_x) / 2)}"'
            f' y="{_num((min_y + max_y) / 2)}" font-size="{_num(size)}" text-anchor="middle"'
            f' dominant-baseline="central" aria-hidden="true">{escape(text)}</text>'
            f"<title>{aria}</title>"
        )
        if section_href is None:
            parts.append(
                f'<g class="section-link" data-section="{key}" role="button" tabindex="0"'
                f' aria-label="{aria}">{inner}</g>'
            )
        else:
            href = escape(section_href(sec.key))
            parts.append(
                f'<a class="section-link" href="{href}" data-section="{key}"'
                f' aria-label="{aria}">{inner}</a>'
            )
    parts.append("</svg>")
    return "".join(parts)


def render_legend(layout: Layout, prices: Mapping[str, str]) -> str:
    """The key to the map as an HTML ``<ul>``: each zone's colour, name and price, then the
    seat states (and the accessible seats' marks when the layout has any)."""
    _zone_index(layout, layout.seats, prices)
    items = [
        f'<li class="seat-legend__item"><span class="seat-legend__swatch zone-{i}"'
        f' aria-hidden="true"></span> <span class="seat-legend__name">{escape(zone.name)}</span>'
        f' <span class="seat-legend__price">{escape(prices[zone.key])}</span></li>'
        for i, zone in enumerate(layout.zones)
        if zone.key in prices
    ]
    marks = [
        ("available", "Available (coloured by price)"),
        ("selected", "Selected"),
        ("held", "Held by another fan"),
        ("sold", "Sold"),
        ("blocked", "Not for sale"),
    ]
    flags = {f for s in layout.seats for f in s.flags}
    marks += [
        (FLAG_CLASSES[f].removeprefix("flag-"), word.capitalize())
        for f, word in FLAG_WORDS
        if f in flags and f is not SeatFlag.RESTRICTED_VIEW  # not drawn: told in its label
    ]
    items += [
        f'<li class="seat-legend__item"><span class="seat-legend__swatch'
        f' seat-legend__swatch--{cls}" aria-hidden="true"></span> {text}</li>'
        for cls, text in marks
    ]
    return f'<ul class="seat-legend" aria-label="Seat map key">{"".join(items)}</ul>'


# ---- helpers -----------------------------------------------------------------------------


def _check_states(layout: Layout, states: Sequence[SeatState]) -> None:
    if len(states) != len(layout.seats):
        raise ValueError(f"{len(layout.seats)} seats but {len(states)} states")


def _sections_with_offsets(layout: Layout, key: str | None) -> list[tuple[Section, int]]:
    """The sections to draw, each with the ordinal of its first seat."""
    result = []
    ordinal = 0
    for sec in layout.sections:
        if key is None or sec.key == key:
            result.append((sec, ordinal))
        ordinal += sum(len(row.seats) for row in sec.rows)
    if not result and key is not None:
        raise ValueError(f"the layout has no section {key!r}")
    return result


def _zone_index(layout: Layout, seats: Iterable[Seat], prices: Mapping[str, str]) -> dict[str, int]:
    """Zone key → its index (its colour class); every drawn seat's zone must have a price
    (a seat shown without its price would be a bug to hide, not to paper over)."""
    index = {zone.key: i for i, zone in enumerate(layout.zones)}
    used = {seat.zone for seat in seats}
    unknown = used - index.keys()
    if unknown:
        raise ValueError(f"seats in zones the layout doesn't list: {sorted(unknown)}")
    unpriced = used - prices.keys()
    if unpriced:
        raise ValueError(f"no price for zones {sorted(unpriced)}")
    return index


def _seat_radius(sections: Sequence[tuple[Section, int]]) -> float:
    """Just under half the closest spacing of neighbours in a row, so seats never overlap."""
    closest = math.inf  # squared, to save a square root per seat
    for sec, _ in sections:
        for row in sec.rows:
            for a, b in pairwise(row.seats):
                dx = a.x - b.x
                dy = a.y - b.y
                d = dx * dx + dy * dy
                if 0 < d < closest:
                    closest = d
    return _DEFAULT_RADIUS if closest == math.inf else math.sqrt(closest) * 0.42


def _availability(
    name: str,
    seats: Sequence[Seat],
    states: Sequence[SeatState],
    first: int,
    prices: Mapping[str, str],
) -> str:
    own = states[first : first + len(seats)]
    free = own.count(SeatState.FREE)
    zones = {seat.zone for seat in seats}
    if len(zones) > 1 and free:
        zones = {seat.zone for seat, state in zip(seats, own, strict=True) if state == 0}
    free_zones = zones if free else set()
    text = f"Section {name}, {free:,} of {len(seats):,} seats available"
    if free_zones:
        cheapest = min(free_zones, key=lambda z: (_price_value(prices[z]), z))
        text += f", from {prices[cheapest]}"
    return escape(text)


def _price_value(text: str) -> Decimal:
    """The amount in a price text ("$1,234.50", "1,234.50 CHF"), to find the cheapest."""
    match = _PRICE_NUMBER.search(text)
    try:
        return Decimal(match.group().replace(",", "")) if match else Decimal("Infinity")
    except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
        return Decimal("Infinity")


def _stage(stage: Stage, largest: float) -> str:
    size = min(largest, stage.height * 0.5, stage.width / max(len(stage.label), 1) * 1.6)
    centre = stage.centre
    return (
        f'<g class="stage"><rect class="stage__shape" x="{_num(stage.x)}" y="{_num(stage.y)}"'
        f' width="{_num(stage.width)}" height="{_num(stage.height)}"/>'
        f'<text class="stage__label" x="{_num(centre.x)}" y="{_num(centre.y)}"'
        f' font-size="{_num(size)}" text-anchor="middle" dominant-baseline="central">'
        f"{escape(stage.label)}</text></g>"
    )


def _view_box(
    seats: Sequence[Seat],
    radius: float,
    labels: Sequence[tuple[Section, float, float, float]],
    font: float,
    stage: Stage | None,
) -> tuple[float, float, float, float]:
    """The bounding box of what is drawn (seats, section names, the stage), with a margin."""
    boxes: list[tuple[float, float, float, float]] = []
    seat_box = _bbox((s.x, s.y) for s in seats)
    if seat_box is not None:
        boxes.append(seat_box)
    boxes += [(x - w / 2, y - font, x + w / 2, y + font * 0.3) for _, x, y, w in labels]
    if stage is not None:
        boxes.append((stage.x, stage.y, stage.x + stage.width, stage.y + stage.height))
    if not boxes:
        return (0.0, 0.0, 1.0, 1.0)
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return _padded(box, radius * 2)


def _padded(
    box: tuple[float, float, float, float], pad: float
) -> tuple[float, float, float, float]:
    min_x, min_y, max_x, max_y = box
    return (min_x - pad, min_y - pad, max_x - min_x + 2 * pad, max_y - min_y + 2 * pad)


def _bbox(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        xs.append(x)
        ys.append(y)
    if not xs:
        return None
    return (min(xs), min(ys), max(xs), max(ys))


def _padded_hull(rows: Sequence[Row], pad: float) -> list[tuple[float, float]]:
    """The convex hull of the rows' seats grown by `pad` (octagons around its corners), so a
    single row or a single seat still gets an area to click."""
    hull = _convex_hull(_hull_candidates(rows, tolerance=pad * 0.02))
    offsets = [(pad * math.cos(a), pad * math.sin(a)) for a in (i * math.pi / 4 for i in range(8))]
    return _convex_hull([(x + dx, y + dy) for x, y in hull for dx, dy in offsets])


def _hull_candidates(rows: Sequence[Row], tolerance: float) -> list[tuple[float, float]]:
    """The seats that may be corners of the hull: a seat on the segment between its two
    neighbours (a straight row, at any angle) can't be one, so a straight row leaves its two
    ends. Within `tolerance` of that segment counts as on it: far less than the padding."""
    points: list[tuple[float, float]] = []
    for row in rows:
        seats = row.seats
        if not seats:
            continue
        points.append((seats[0].x, seats[0].y))
        for a, b, c in zip(seats, seats[1:], seats[2:], strict=False):
            acx, acy = c.x - a.x, c.y - a.y
            # Twice the area of abc over |ac|: b's distance from the line ac.
            off_line = abs((b.x - a.x) * acy - (b.y - a.y) * acx) > tolerance * math.hypot(acx, acy)
            between = (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y) > 0
            if off_line or not between:
                points.append((b.x, b.y))
        if len(seats) > 1:
            points.append((seats[-1].x, seats[-1].y))
    return points


def _convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain: the hull's corners, counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _view(box: tuple[float, float, float, float]) -> str:
    return " ".join(_num(v) for v in box)


def _num(value: float) -> str:
    """A coordinate as SVG text: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
