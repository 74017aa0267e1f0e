"""`ticketbook tickets rotate-key --concert ID`: a concert's ticket signing key, replaced.

The database side is imported when the command runs, not with the parser (as for `venue`):
`ticketbook serve` must set up the metrics directory before anything imports the metrics.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from ticketbook.domain.errors import DomainError


def add_parser(commands: Any) -> None:
    tickets = commands.add_parser("tickets", help="ticket codes (docs/tickets.md)")
    ticket_commands = tickets.add_subparsers(dest="tickets_command", required=True)
    rotate = ticket_commands.add_parser(
        "rotate-key",
        help="sign a concert's tickets with a new key: every code issued so far stops "
        "admitting, and the ticket pages and emails show the new codes",
    )
    rotate.add_argument("--concert", type=uuid.UUID, required=True, metavar="CONCERT_ID")


async def run(database_url: str, args: argparse.Namespace) -> int:
    import asyncpg

    from ticketbook.db.pool import Database
    from ticketbook.tickets.service import rotate_key

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        version = await rotate_key(Database(pool, acquire_timeout_s=30.0), args.concert)
    except DomainError as exc:
        print(f"ticketbook: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
    print(
        f"concert {args.concert}: ticket key version {version}; codes signed under "
        f"version {version - 1} or older no longer admit. Door scanners working offline "
        "must download the concert again."
    )
    return 0
