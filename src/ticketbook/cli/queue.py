"""`ticketbook queue set|status|draw|verify`: a concert's protected on-sale, as the operator
(the same waiting room the organizer API calls, with the operator's rights: any concert).

`verify` recomputes a draw from its public record, read from the database (``--concert``)
or from a record downloaded from GET /api/concerts/{id}/queue/draw (``--file``): it needs
nothing but the record and hashlib (docs/queue.md).

The database side is imported when a command runs, not with the parser: `ticketbook serve`
must set up the metrics directory before anything imports the metrics (db/pool.py does).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from ticketbook.domain.errors import DomainError
from ticketbook.queue import draw as drawing


def _moment(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2031-06-01T10:00:00Z")
    return moment


def add_parser(commands: Any) -> None:
    queue = commands.add_parser(
        "queue", help="protected on-sales: the waiting room and its draw (docs/queue.md)"
    )
    queue_commands = queue.add_subparsers(dest="queue_command", required=True)
    set_ = queue_commands.add_parser(
        "set", help="set a concert's on-sale (its seed is drawn once, the first time)"
    )
    set_.add_argument("concert_id", type=uuid.UUID)
    set_.add_argument("--opens-at", type=_moment, required=True, metavar="ISO_TIME")
    set_.add_argument("--rate", type=int, required=True, help="visitors let in per minute")
    set_.add_argument("--window", type=int, default=600, help="admission window, seconds")
    set_.add_argument(
        "--unprotected", action="store_true", help="no waiting room: anyone books at once"
    )
    status = queue_commands.add_parser("status", help="a concert's on-sale and its queue")
    status.add_argument("concert_id", type=uuid.UUID)
    drawn = queue_commands.add_parser("draw", help="draw now, if the on-sale has opened")
    drawn.add_argument("concert_id", type=uuid.UUID)
    verify = queue_commands.add_parser(
        "verify", help="recompute a draw from its public record and compare"
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--concert", type=uuid.UUID, metavar="CONCERT_ID")
    source.add_argument("--file", type=Path, metavar="DRAW_JSON")
    verify.add_argument(
        "--expect-hash",
        metavar="HEX",
        help="the seed's SHA-256 you noted before the on-sale: fail unless the record's is it",
    )
    verify.add_argument(
        "--join-id", metavar="ID", help="print this join id's position; fail if it isn't drawn"
    )


def needs_database(args: argparse.Namespace) -> bool:
    return not (args.queue_command == "verify" and args.file is not None)


def verify_record(
    record: dict[str, Any], *, expect_hash: str | None = None, join_id: str | None = None
) -> int:
    """Print the verdict on a draw record (the API's JSON, enveloped or not): 0 if it holds,
    its seed's hash is ``expect_hash`` (the one noted before the on-sale) when given, and
    ``join_id``, when given, is in its order (its position printed)."""
    data = record.get("data", record)
    if not data.get("drawn") or not data.get("seed"):
        print("not drawn yet: nothing to verify (the seed is revealed at the draw)")
        return 1
    verdict = drawing.verify(
        seed=bytes.fromhex(data["seed"]),
        published_hash=bytes.fromhex(data["seedHash"]),
        join_ids=data["joinIds"],
        claimed_order=data["order"],
        early_count=data.get("earlyCount"),
    )
    problems = list(verdict.problems)
    if expect_hash is not None and expect_hash.strip().lower() != data["seedHash"]:
        problems.append(
            f"the record's seed hash {data['seedHash']} is not the one expected, {expect_hash}"
        )
    if join_id is not None:
        if join_id in data["order"]:
            print(f"join id {join_id}: position {data['order'].index(join_id) + 1}")
        else:
            problems.append(f"join id {join_id} is not in the draw")
    if not problems:
        print(
            f"OK: sha256(seed) is the published hash {data['seedHash']}, and the order of the "
            f"{len(data['order'])} early joiners is the one the seed gives"
        )
        return 0
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1


def run_offline(args: argparse.Namespace) -> int:
    try:
        record = json.loads(args.file.read_text())
    except (OSError, ValueError) as exc:
        print(f"ticketbook: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    return verify_record(record, expect_hash=args.expect_hash, join_id=args.join_id)


async def run(database_url: str, args: argparse.Namespace) -> int:
    import asyncpg

    from ticketbook.auth.tokens import TokenSigner
    from ticketbook.db.pool import Database
    from ticketbook.queue.service import WaitingRoom

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    # The operator's commands issue no admission: no secret key is read for them.
    room = WaitingRoom(Database(pool, acquire_timeout_s=30.0), TokenSigner(""))
    try:
        if args.queue_command == "set":
            onsale = await room.set_onsale(
                args.concert_id,
                opens_at=args.opens_at,
                protected=not args.unprotected,
                rate_per_minute=args.rate,
                window_s=args.window,
                by=None,
            )
            kind = "protected" if onsale.protected else "unprotected"
            print(
                f"concert {onsale.concert_id}: {kind} on-sale at {onsale.opens_at.isoformat()}, "
                f"{onsale.rate_per_minute}/min, admissions last {onsale.admission_window_s} s; "
                f"seed sha256 {onsale.seed_hash}"
            )
        elif args.queue_command == "status":
            found = await room.onsale(args.concert_id)
            if found is None:
                print(f"concert {args.concert_id} has no on-sale")
                return 1
            drawn = (
                f"drawn at {found.drawn_at.isoformat()}: {found.early_count} early joiners"
                if found.drawn_at
                else "not drawn yet"
            )
            print(
                f"concert {found.concert_id}: {'protected' if found.protected else 'unprotected'}"
                f", opens {found.opens_at.isoformat()}, {found.rate_per_minute}/min, "
                f"{found.queued} in the queue, {drawn}; seed sha256 {found.seed_hash}"
            )
        elif args.queue_command == "draw":
            record = await room.draw(args.concert_id)
            print(
                f"concert {args.concert_id}: drawn at {record.drawn_at}, "
                f"{record.early_count} early joiners; seed {record.seed}"
            )
        else:
            record = await room.draw_record(args.concert)
            return verify_record(
                record.model_dump(mode="json"), expect_hash=args.expect_hash, join_id=args.join_id
            )
        return 0
    except DomainError as exc:
        print(f"ticketbook: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
