"""`ticketbook venue`: layouts from and to JSON files, the block generator, and seating a
concert on a layout (the same service the organizer API calls).

The database side is imported when a command runs, not with the parser: `ticketbook serve`
must set up the metrics directory before anything imports the metrics (db/pool.py does).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ticketbook.domain.errors import DomainError

# The layout format itself is pure (no database, no metrics): safe with the parser.
from ticketbook.seating.layout import FORMAT, layout_document

if TYPE_CHECKING:
    from ticketbook.db.pool import Database


def add_parser(commands: Any) -> None:
    venue = commands.add_parser("venue", help="venue seating layouts (docs/seating.md)")
    venue_commands = venue.add_subparsers(dest="venue_command", required=True)
    imported = venue_commands.add_parser(
        "import", help="store a layout from a JSON file (- for standard input); prints its id"
    )
    imported.add_argument("file", help="the layout document (docs/seating.md's format)")
    imported.add_argument(
        "--replace", type=uuid.UUID, metavar="LAYOUT_ID", help="replace this layout instead"
    )
    exported = venue_commands.add_parser(
        "export", help="write a layout as JSON, every seat explicit"
    )
    exported.add_argument("layout_id", type=uuid.UUID)
    exported.add_argument("--output", type=Path, help="write it to this file instead")
    generate = venue_commands.add_parser(
        "generate", help="print a layout of rectangular blocks, one section each, to edit or import"
    )
    generate.add_argument("--name", default="New venue")
    generate.add_argument(
        "--section",
        action="append",
        required=True,
        metavar="KEY:ROWSxSEATS[:ZONE]",
        help="a section of ROWS rows of SEATS seats (e.g. A:20x30:stalls); repeat for more",
    )
    seat = venue_commands.add_parser(
        "seat", help="sell reserved seats for a concert: its layout and a price per zone"
    )
    seat.add_argument("concert_id", type=uuid.UUID)
    seat.add_argument("layout_id", type=uuid.UUID)
    seat.add_argument(
        "--price",
        action="append",
        required=True,
        metavar="ZONE=CENTS",
        help="the price of a zone's seats in cents; repeat for every zone",
    )
    seat.add_argument("--currency", default="USD")


def generate(args: argparse.Namespace) -> int:
    print(json.dumps(generated_document(args.name, args.section), indent=2))
    return 0


def read_document(args: argparse.Namespace) -> Any:
    """`venue import`'s document, read before the event loop starts."""
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.file} is not JSON: {exc}") from None


async def run(database_url: str, args: argparse.Namespace) -> int:
    try:
        async with _database(database_url) as db:
            return await _run(db, args)
    except DomainError as exc:
        print(f"ticketbook: {exc.message}", file=sys.stderr)
        return 2


async def _run(db: Database, args: argparse.Namespace) -> int:
    from ticketbook.seating import service as seating

    if args.venue_command == "import":
        layout = seating.parse(args.document)
        if args.replace is not None:
            stored = await seating.replace_layout(db, args.replace, layout)
        else:
            stored = await seating.create_layout(db, layout)
        print(
            f"layout {stored.id} version {stored.version}: {layout.name}, "
            f"{len(layout.seats)} seats in {len(layout.sections)} sections"
        )
        return 0
    if args.venue_command == "export":
        stored = await seating.get_layout(db, args.layout_id)
        text = json.dumps(layout_document(stored.layout), indent=2) + "\n"
        if args.output:
            args.output.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    prices = dict(_price(p) for p in args.price)
    await seating.seat_concert(db, args.concert_id, args.layout_id, prices, args.currency)
    found = await seating.concert_seating(db, args.concert_id)
    assert found is not None
    for zone in found.zones:
        print(f"zone {zone.zone} ({zone.name}): tier {zone.tier_id}, {zone.total} seats")
    return 0


def _price(text: str) -> tuple[str, int]:
    zone, _, cents = text.partition("=")
    if not zone or not cents.isdigit():
        raise ValueError(f"--price wants ZONE=CENTS (e.g. stalls=7500), not {text!r}")
    return zone, int(cents)


# Seat and row spacing of generated blocks, and the gap between sections, in map units.
SEAT_SPACING, ROW_SPACING, SECTION_GAP = 10.0, 12.0, 30.0


def generated_document(name: str, sections: list[str]) -> dict[str, Any]:
    """A layout document of one rectangular block per section, side by side facing a stage."""
    parsed = [_section(text) for text in sections]
    zones = sorted({zone for _, _, _, zone in parsed})
    x = 0.0
    documents = []
    for key, rows, seats, zone in parsed:
        documents.append(
            {
                "key": key,
                "name": f"Section {key}",
                "blocks": [
                    {
                        "rows": rows,
                        "seatsPerRow": seats,
                        "origin": {"x": x, "y": 60.0},
                        "seatSpacing": SEAT_SPACING,
                        "rowSpacing": ROW_SPACING,
                        "zone": zone,
                    }
                ],
            }
        )
        x += seats * SEAT_SPACING + SECTION_GAP
    return {
        "format": FORMAT,
        "name": name,
        "stage": {"x": 0.0, "y": 0.0, "width": max(x - SECTION_GAP, SEAT_SPACING), "height": 30.0},
        "zones": [{"key": z, "name": z.replace("-", " ").title()} for z in zones],
        "sections": documents,
    }


def _section(text: str) -> tuple[str, int, int, str]:
    parts = text.split(":")
    try:
        key, size = parts[0], parts[1]
        rows, seats = (int(n) for n in size.lower().split("x"))
    except (IndexError, ValueError):
        raise ValueError(f"--section wants KEY:ROWSxSEATS[:ZONE], not {text!r}") from None
    return key, rows, seats, parts[2] if len(parts) > 2 else "standard"


@asynccontextmanager
async def _database(database_url: str) -> AsyncIterator[Database]:
    import asyncpg

    from ticketbook.db.pool import Database

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        yield Database(pool, acquire_timeout_s=30.0)
    finally:
        await pool.close()
