"""`ticketbook staff`: door staff of a concert, as the operator (the same desk the organizer
API calls, with the operator's rights: any concert).

The database side is imported when a command runs, not with the parser: `ticketbook serve`
must set up the metrics directory before anything imports the metrics (db/pool.py does).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from ticketbook.domain.errors import DomainError


def add_parser(commands: Any) -> None:
    staff = commands.add_parser(
        "staff", help="door staff: who may check tickets in for a concert (docs/checkin.md)"
    )
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    grant = staff_commands.add_parser(
        "grant", help="let an account (by email) check tickets in for a concert"
    )
    grant.add_argument("concert_id", type=uuid.UUID)
    grant.add_argument("email")
    revoke = staff_commands.add_parser("revoke", help="take an account's check-in rights back")
    revoke.add_argument("concert_id", type=uuid.UUID)
    revoke.add_argument("email")
    listed = staff_commands.add_parser("list", help="a concert's door staff")
    listed.add_argument("concert_id", type=uuid.UUID)


async def run(database_url: str, args: argparse.Namespace) -> int:
    import asyncpg

    from ticketbook.checkin.service import CheckinDesk
    from ticketbook.db.pool import Database
    from ticketbook.tickets.keys import TicketKeys

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    # Managing staff signs nothing: no secret key is read for it.
    desk = CheckinDesk(Database(pool, acquire_timeout_s=30.0), TicketKeys(""))
    try:
        if args.staff_command == "grant":
            member = await desk.grant(concert_id=args.concert_id, email=args.email, by=None)
            print(f"{member.email} ({member.user_id}) may check tickets in for {args.concert_id}")
        elif args.staff_command == "revoke":
            member = await desk.revoke(concert_id=args.concert_id, email=args.email, by=None)
            print(f"{member.email} may no longer check tickets in for {args.concert_id}")
        else:
            members = await desk.staff(concert_id=args.concert_id, by=None)
            for m in members:
                by = f"granted by {m.granted_by}" if m.granted_by else "granted by the operator"
                print(f"{m.email}\t{m.user_id}\t{m.granted_at.isoformat()}\t{by}")
            print(f"{len(members)} door staff for {args.concert_id}")
        return 0
    except DomainError as exc:
        print(f"ticketbook: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
