"""The server-drawn seat map: well-formed SVG, every seat an accessible checkbox, the overview
and the legend; and seatmap.js updating a drawn map to new states like a fresh render."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from ticketbook.seating.model import Layout, Row, Seat, SeatFlag, Section, Stage, Zone
from ticketbook.seating.states import SeatState
from ticketbook.seating.svg import render_legend, render_overview, render_seat_map

NS = "{http://www.w3.org/2000/svg}"
STATIC = Path(__file__).parents[2] / "src/ticketbook/web/static"
F, H, S, B = SeatState.FREE, SeatState.HELD, SeatState.SOLD, SeatState.BLOCKED
WORDS = {F: "available", H: "held by another fan", S: "sold", B: "not for sale"}
PRICES = {"prem": "$80.00", "std": "$50.00", "cheap": "$1,234.50"}
TOM = '<Tom & "Jerry">'


def row(
    section: str, label: str, y: float, zones: list[str], x0: float = 0.0, flagged: bool = False
) -> Row:
    """Seats 10 apart; when `flagged`, seat 1 is a wheelchair space and seat 2 its companion."""
    flags = {0: frozenset({SeatFlag.WHEELCHAIR}), 1: frozenset({SeatFlag.COMPANION})}
    seats = tuple(
        Seat(
            section=section,
            row=label,
            label=str(i + 1),
            position=i,
            x=x0 + i * 10.0,
            y=y,
            zone=zone,
            flags=flags.get(i, frozenset()) if flagged else frozenset(),
        )
        for i, zone in enumerate(zones)
    )
    return Row(label, seats)


def hall(width: float = 400.0, height: float = 300.0) -> Layout:
    """Two sections: "Stalls A" (rows A, B; 4 seats each, one restricted-view) and `TOM`
    (key "T&J", row "F&G", 3 seats)."""
    stalls_a = row("A", "A", 100, ["prem", "prem", "std", "std"], x0=20, flagged=True)
    restricted = replace(stalls_a.seats[-1], flags=frozenset({SeatFlag.RESTRICTED_VIEW}))
    stalls_a = Row("A", (*stalls_a.seats[:-1], restricted))
    return Layout(
        name="Hall & Co",
        stage=Stage(100, 10, 200, 40, label="Main <Stage>"),
        zones=(Zone("prem", "Premium"), Zone("std", "Standard"), Zone("cheap", "Cheap & cheerful")),
        sections=(
            Section("A", "Stalls A", (stalls_a, row("A", "B", 112, ["std"] * 4, x0=20))),
            Section("T&J", TOM, (row("T&J", "F&G", 200, ["cheap"] * 3, x0=200),)),
        ),
        width=width,
        height=height,
    )


STATES = [F, H, S, B, F, F, S, F, F, B, H]  # 8 seats in "A", 3 in "T&J"


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<?xml" not in svg
    return ET.fromstring(svg)


def seats_of(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}circle") if "seat" in e.get("class", "").split()]


def expected_label(layout: Layout, ordinal: int, state: SeatState) -> str:
    seat = layout.seats[ordinal]
    name = next(s.name for s in layout.sections if s.key == seat.section)
    text = f"Section {name}, row {seat.row}, seat {seat.label}, {PRICES[seat.zone]}, {WORDS[state]}"
    for flag, word in (
        (SeatFlag.WHEELCHAIR, "wheelchair space"),
        (SeatFlag.COMPANION, "companion seat"),
        (SeatFlag.RESTRICTED_VIEW, "restricted view"),
    ):
        if flag in seat.flags:
            text += f", {word}"
    return text


def test_the_map_is_well_formed_svg_naming_the_venue() -> None:
    layout = hall()
    root = parse(render_seat_map(layout, STATES, PRICES))
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "group"
    assert root.get("aria-label") == "Seat map of Hall & Co"
    assert root.get("viewBox") == "0 0 400 300"
    stage = root.find(f"{NS}g[@class='stage']")
    assert stage is not None
    assert stage.find(f"{NS}rect") is not None
    assert stage.findtext(f"{NS}text") == "Main <Stage>"
    sections = root.findall(f"{NS}g[@class='section']")
    assert [g.get("data-section") for g in sections] == ["A", "T&J"]
    assert [g.get("aria-label") for g in sections] == ["Section Stalls A", f"Section {TOM}"]
    assert [g.findtext(f"{NS}text") for g in sections] == ["Stalls A", TOM]


def test_every_seat_is_a_labelled_checkbox() -> None:
    layout = hall()
    root = parse(render_seat_map(layout, STATES, PRICES))
    seats = seats_of(root)
    assert len(seats) == len(layout.seats) == len(STATES)
    zone_index = {"prem": 0, "std": 1, "cheap": 2}
    for ordinal, (element, seat, state) in enumerate(zip(seats, layout.seats, STATES, strict=True)):
        label = expected_label(layout, ordinal, state)
        assert element.get("role") == "checkbox"
        assert element.get("aria-checked") == "false"
        assert element.get("aria-label") == label
        assert element.findtext(f"{NS}title") == label
        assert element.get("data-code") == seat.code
        assert element.get("data-ordinal") == str(ordinal)
        classes = element.get("class", "").split()
        assert f"zone-{zone_index[seat.zone]}" in classes
        assert f"state-{state.name.lower()}" in classes
        assert [c for c in classes if c.startswith("state-")] == [f"state-{state.name.lower()}"]
        if state is F:
            assert element.get("tabindex") == "0"
            assert element.get("aria-disabled") is None
        else:
            assert element.get("tabindex") == "-1"
            assert element.get("aria-disabled") == "true"
        assert float(element.get("cx", "nan")) == seat.x
        assert float(element.get("cy", "nan")) == seat.y


def test_labels_carry_state_words_prices_and_flags() -> None:
    labels = [e.get("aria-label") for e in seats_of(parse(render_seat_map(hall(), STATES, PRICES)))]
    assert labels[0] == "Section Stalls A, row A, seat 1, $80.00, available, wheelchair space"
    assert (
        labels[1] == "Section Stalls A, row A, seat 2, $80.00, held by another fan, companion seat"
    )
    assert labels[2] == "Section Stalls A, row A, seat 3, $50.00, sold"
    assert labels[3] == "Section Stalls A, row A, seat 4, $50.00, not for sale, restricted view"
    assert labels[8] == f"Section {TOM}, row F&G, seat 1, $1,234.50, available"
    classes = [e.get("class", "") for e in seats_of(parse(render_seat_map(hall(), STATES, PRICES)))]
    assert "flag-wheelchair" in classes[0].split()
    assert "flag-companion" in classes[1].split()
    assert "flag-restricted-view" in classes[3].split()
    assert not any(c.startswith("flag-") for c in classes[4].split())


def test_every_text_is_escaped() -> None:
    svg = render_seat_map(hall(), STATES, PRICES)
    parse(svg)  # would raise on a raw "<" or "&"
    assert TOM not in svg
    assert "&lt;Tom &amp; &quot;Jerry&quot;&gt;" in svg
    assert 'data-section="T&amp;J"' in svg
    assert 'data-code="T&amp;J:F&amp;G:1"' in svg
    assert "Main &lt;Stage&gt;" in svg
    assert "Hall &amp; Co" in svg
    assert "<Stage>" not in svg and "Hall & Co" not in svg


def test_no_inline_colours_only_classes_the_stylesheet_defines() -> None:
    layout = hall()
    svg = render_seat_map(layout, STATES, PRICES, selected=frozenset({"A:A:1"}))
    overview = render_overview(layout, STATES, PRICES)
    for markup in (svg, overview):
        for element in parse(markup).iter():
            assert not {"fill", "stroke", "style", "color"} & set(element.keys()), element.tag
    css = (STATIC / "seatmap.css").read_text()
    for name in ["seat", "section-shape", "seat-legend__swatch", "seat-mark__tick"]:
        assert f".{name}" in css
    for i in range(6):
        assert re.search(rf"\.zone-{i} \{{ --zone: var\(--zone-{i}\); \}}", css)
        assert re.search(rf"--zone-{i}: #[0-9a-f]{{6}};", css)
    for state in ("free", "held", "sold", "blocked"):
        assert f".seat.state-{state}" in css
    assert '.seat[aria-checked="true"]' in css
    assert "url(#tb-seat-selected)" in css and 'id="tb-seat-selected"' in svg
    assert ".seat:focus-visible" in css


def test_zone_colours_have_3_to_1_contrast_on_white() -> None:
    css = (STATIC / "seatmap.css").read_text()
    colours = dict(re.findall(r"--zone-(\d+): (#[0-9a-f]{6});", css))
    assert len(colours) >= 6

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for zone, colour in colours.items():
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, (zone, colour)
    assert len(set(colours.values())) == len(colours)


def test_selected_seats_are_checked() -> None:
    layout = hall()
    chosen = frozenset({"A:A:1", "A:B:2", "T&J:F&G:2"})
    seats = seats_of(parse(render_seat_map(layout, STATES, PRICES, selected=chosen)))
    checked = {e.get("data-code") for e in seats if e.get("aria-checked") == "true"}
    assert checked == chosen
    assert all(e.get("aria-checked") in ("true", "false") for e in seats)


def test_one_section_only() -> None:
    layout = hall()
    root = parse(render_seat_map(layout, STATES, PRICES, section="T&J"))
    assert root.get("data-section") == "T&J"
    assert root.get("aria-label") == f"Seat map of Hall & Co, section {TOM}"
    sections = root.findall(f"{NS}g[@class='section']")
    assert [g.get("data-section") for g in sections] == ["T&J"]
    seats = seats_of(root)
    # The ordinals stay the layout's, so the encoded states still apply.
    assert [e.get("data-ordinal") for e in seats] == ["8", "9", "10"]
    assert [e.get("data-code") for e in seats] == ["T&J:F&G:1", "T&J:F&G:2", "T&J:F&G:3"]
    assert [e.get("tabindex") for e in seats] == ["0", "-1", "-1"]
    # Zoomed to the section: the viewBox holds its seats, not the whole 400 x 300 map.
    x, y, w, h = map(float, root.get("viewBox", "").split())
    assert w < 400 and h < 300
    for seat in layout.seats[8:]:
        assert x < seat.x < x + w and y < seat.y < y + h
    with pytest.raises(ValueError, match="no section"):
        render_seat_map(layout, STATES, PRICES, section="Z")


def test_view_box_is_computed_when_the_layout_has_no_size() -> None:
    layout = hall(width=0, height=0)
    root = parse(render_seat_map(layout, STATES, PRICES))
    x, y, w, h = map(float, root.get("viewBox", "").split())
    assert w > 0 and h > 0
    for seat in layout.seats:
        assert x < seat.x < x + w and y < seat.y < y + h
    stage = layout.stage
    assert x <= stage.x and stage.x + stage.width <= x + w
    assert y <= stage.y and stage.y + stage.height <= y + h


def test_seats_do_not_overlap() -> None:
    seats = seats_of(parse(render_seat_map(hall(), STATES, PRICES)))
    radius = float(seats[0].get("r", "nan"))
    assert 0 < radius < 5  # the seats in a row are 10 apart


def test_refuses_states_or_prices_that_do_not_fit() -> None:
    layout = hall()
    with pytest.raises(ValueError, match="11 seats but 10 states"):
        render_seat_map(layout, STATES[:-1], PRICES)
    with pytest.raises(ValueError, match="no price"):
        render_seat_map(layout, STATES, {"prem": "$1.00", "std": "$2.00"})
    with pytest.raises(ValueError, match="11 seats"):
        render_overview(layout, [*STATES, F], PRICES)


def big_section_layout() -> Layout:
    """Section "Big" of 2,000 seats (its cheap rows 0-4 sold out), "Small" of 3, "Gone" of 2."""
    rows = tuple(
        row("big", f"R{r}", 300 + r * 12, ["cheap" if r < 5 else "std"] * 80) for r in range(25)
    )
    return Layout(
        name="Arena",
        stage=Stage(0, 0, 800, 50),
        zones=(Zone("prem", "Premium"), Zone("std", "Standard"), Zone("cheap", "Cheap")),
        sections=(
            Section("big", "Big", rows),
            Section("small", "Small <1>", (row("small", "A", 100, ["prem"] * 3, x0=900),)),
            Section("gone", "Gone", (row("gone", "A", 100, ["std"] * 2, x0=1000),)),
        ),
    )


def big_states() -> list[SeatState]:
    # Big: rows 0-4 (cheap, 400 seats) all sold; of the other 1,600, every 4th held.
    big = [S] * 400 + [H if i % 4 == 0 else F for i in range(1600)]
    return [*big, F, S, F, S, B]


def test_overview_has_one_control_per_section_with_counts() -> None:
    layout = big_section_layout()
    root = parse(render_overview(layout, big_states(), PRICES))
    assert root.get("role") == "group"
    assert "Arena" in root.get("aria-label", "")
    controls = [e for e in root.iter() if e.get("data-section")]
    assert [c.get("data-section") for c in controls] == ["big", "small", "gone"]
    assert [c.get("aria-label") for c in controls] == [
        "Section Big, 1,200 of 2,000 seats available, from $50.00",
        "Section Small <1>, 2 of 3 seats available, from $80.00",
        "Section Gone, 0 of 2 seats available",
    ]
    for control in controls:
        assert control.tag == f"{NS}g"
        assert control.get("role") == "button"
        assert control.get("tabindex") == "0"
        assert control.findtext(f"{NS}title") == control.get("aria-label")
        assert control.find(f"{NS}polygon") is not None
    gone = controls[2].find(f"{NS}polygon")
    assert gone is not None and "section-shape--sold-out" in gone.get("class", "")
    big = controls[0].find(f"{NS}polygon")
    assert big is not None and "section-shape--sold-out" not in big.get("class", "")


def test_overview_shapes_enclose_their_seats() -> None:
    layout = big_section_layout()
    root = parse(render_overview(layout, big_states(), PRICES))
    for control in (e for e in root.iter() if e.get("data-section")):
        polygon = control.find(f"{NS}polygon")
        assert polygon is not None
        points = [tuple(map(float, p.split(","))) for p in polygon.get("points", "").split()]
        assert len(points) >= 3
        seats = [s for s in layout.seats if s.section == control.get("data-section")]
        for seat in seats:
            # Inside a convex polygon: on the same side of every edge.
            sides = {
                (bx - ax) * (seat.y - ay) - (by - ay) * (seat.x - ax) > 0
                for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True)
            }
            assert len(sides) == 1, (seat.code, points)


def test_overview_controls_can_be_links() -> None:
    layout = big_section_layout()
    svg = render_overview(layout, big_states(), PRICES, section_href=lambda k: f"?section={k}&x=1")
    root = parse(svg)
    links = root.findall(f"{NS}a")
    assert [a.get("href") for a in links] == [
        "?section=big&x=1",
        "?section=small&x=1",
        "?section=gone&x=1",
    ]
    assert all(a.get("data-section") and a.get("aria-label") for a in links)
    assert "&amp;x=1" in svg


def test_legend_lists_zones_prices_and_states() -> None:
    layout = hall()
    legend = render_legend(layout, PRICES)
    root = ET.fromstring(legend)  # well-formed, so also valid HTML for these elements
    assert root.tag == "ul"
    items = root.findall("li")
    texts = [" ".join("".join(li.itertext()).split()) for li in items]
    assert texts[:3] == ["Premium $80.00", "Standard $50.00", "Cheap & cheerful $1,234.50"]
    swatches = [li.find("span") for li in items[:3]]
    assert [s.get("class") for s in swatches if s is not None] == [
        f"seat-legend__swatch zone-{i}" for i in range(3)
    ]
    assert all(s is not None and s.get("aria-hidden") == "true" for s in swatches)
    for word in ("Available", "Selected", "Held by another fan", "Sold", "Not for sale"):
        assert any(t.startswith(word) for t in texts[3:]), word
    # The layout has a wheelchair space and a companion seat, so the key explains their marks.
    assert "Wheelchair space" in texts and "Companion seat" in texts
    assert "Cheap &amp; cheerful" in legend


def test_legend_leaves_out_marks_the_layout_does_not_use() -> None:
    layout = big_section_layout()
    texts = ["".join(li.itertext()) for li in ET.fromstring(render_legend(layout, PRICES))]
    assert not any("Wheelchair" in t or "Companion" in t for t in texts)
    assert sum("$" in t for t in texts) == 3


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_applies_new_states_like_a_fresh_render() -> None:
    """seatmap.js on a minimal fake DOM: after applySeatStates, each seat's class, aria-label,
    <title>, tabindex and aria-disabled equal those of a render with the new states."""
    layout = hall()
    chosen = frozenset({"A:A:1", "A:B:1"})
    before = seats_of(parse(render_seat_map(layout, STATES, PRICES, selected=chosen)))
    new_states = [B, F, F, S, H, F, F, S, S, F, F]
    after = seats_of(parse(render_seat_map(layout, new_states, PRICES, selected=chosen)))
    seats = [{"attrs": dict(e.attrib), "title": e.findtext(f"{NS}title")} for e in before]
    script = f"""
        globalThis.window = globalThis;
        require({json.dumps(str(STATIC / "seatmap.js"))});
        const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
        function fakeSeat(seat) {{
          const attrs = Object.assign({{}}, seat.attrs);
          const title = {{ textContent: seat.title }};
          const classes = () => attrs["class"].split(" ").filter(Boolean);
          return {{
            attrs, title,
            getAttribute: (n) => (n in attrs ? attrs[n] : null),
            setAttribute: (n, v) => {{ attrs[n] = String(v); }},
            removeAttribute: (n) => {{ delete attrs[n]; }},
            querySelector: (s) => (s === "title" ? title : null),
            classList: {{
              contains: (c) => classes().includes(c),
              add: (c) => {{ if (!classes().includes(c)) attrs["class"] += " " + c; }},
              remove: (c) => {{ attrs["class"] = classes().filter((x) => x !== c).join(" "); }},
            }},
          }};
        }}
        const seats = input.seats.map(fakeSeat);
        const svg = {{ querySelectorAll: (s) => (s === ".seat[data-ordinal]" ? seats : []) }};
        const lost = window.TicketBookSeatMap.applySeatStates(svg, input.states);
        process.stdout.write(JSON.stringify({{
          lost, seats: seats.map((s) => ({{ attrs: s.attrs, title: s.title.textContent }})),
        }}));
    """
    result = subprocess.run(
        ["node", "-e", script],
        input=json.dumps({"seats": seats, "states": [int(s) for s in new_states]}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    out = json.loads(result.stdout)
    assert len(out["seats"]) == len(after)
    for got, want in zip(out["seats"], after, strict=True):
        attrs = got["attrs"]
        assert set(attrs.pop("class").split()) == set(want.get("class", "").split())
        assert attrs == {k: v for k, v in want.attrib.items() if k != "class"}
        assert got["title"] == want.findtext(f"{NS}title")
    # A:A:1 became blocked while selected; A:B:1 (ordinal 4) became held.
    assert out["lost"] == ["A:A:1", "A:B:1"]


def test_overview_names_narrow_sections_by_key() -> None:
    def narrow(key: str, x0: float) -> Section:
        return Section(
            key, f"The very long name of section {key}", (row(key, "A", 100, ["std"], x0),)
        )

    layout = Layout(
        "Boxes",
        Stage(0, 0, 100, 20),
        (Zone("std", "Standard"),),
        (narrow("B1", 0), narrow("B2", 30)),
    )
    root = parse(render_overview(layout, [F, F], PRICES))
    texts = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "section-shape__label"]
    assert texts == ["B1", "B2"]
    # The accessible name still says the whole name.
    controls = [e for e in root.iter() if e.get("data-section")]
    assert controls[0].get("aria-label") == (
        "Section The very long name of section B1, 1 of 1 seats available, from $50.00"
    )
    # Names that fit are shown as they are.
    wide = Layout(
        "Rows",
        Stage(0, 0, 100, 20),
        (Zone("std", "Standard"),),
        (
            Section("L", "Left", (row("L", "A", 100, ["std"] * 10, 0),)),
            Section("R", "Right", (row("R", "A", 100, ["std"] * 10, 150),)),
        ),
    )
    root = parse(render_overview(wide, [F] * 20, PRICES))
    labels = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "section-shape__label"]
    assert labels == ["Left", "Right"]
