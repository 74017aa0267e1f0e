"""`ticketbook` command line: serve, migrate, user, seed, tier, venue, staff, tickets, queue,
doctor, bench, openapi, mailbox."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import logging.config
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from ticketbook.auth.secrets import check_production_key
from ticketbook.booking.stock import MAX_STOCK_SLOTS, split_stock
from ticketbook.cli import queue, staff, tickets, venue
from ticketbook.db.migrate import MigrationsPending, ensure_migrated, upgrade_to_head
from ticketbook.db.urls import resolve_database_url
from ticketbook.domain.enums import Role
from ticketbook.observability.logs import logging_config
from ticketbook.settings import ConfigError, Settings

log = logging.getLogger("ticketbook")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="bind address (default TICKETBOOK_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default TICKETBOOK_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--seed-if-empty", action="store_true", help="load the demo data into an empty database"
    )

    commands.add_parser("migrate", help="apply pending database migrations")

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser(
        "create",
        help="create an account (asks for the password, or reads it with --password-stdin); "
        "with --organizer an existing account becomes an organizer",
    )
    create.add_argument("email")
    create.add_argument("--organizer", action="store_true", help="give it the organizer role")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    seed = commands.add_parser("seed", help="load the demo concerts")
    seed.add_argument("--reset", action="store_true", help="wipe all data, bookings included")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if concerts exist")

    tier = commands.add_parser("tier", help="manage ticket tiers")
    tier_commands = tier.add_subparsers(dest="tier_command", required=True)
    split = tier_commands.add_parser(
        "split",
        help="spread a tier's free tickets over SLOTS stock rows, so holds on it do not queue "
        "on one row lock (1 merges them back); safe while it is on sale",
    )
    split.add_argument("tier_id", type=uuid.UUID, help="the ticket tier's id")
    split.add_argument("slots", type=int, help=f"stock rows, 1 to {MAX_STOCK_SLOTS}")

    doctor = commands.add_parser("doctor", help="check inventory invariants on a live database")
    doctor.add_argument(
        "--stuck-grace", type=float, default=60.0, help="seconds past expiry before a hold is stuck"
    )

    bench = commands.add_parser(
        "bench", help="benchmark a fresh database and server against raw SQL"
    )
    bench.add_argument("--workers", type=int, default=2, help="server worker processes")
    bench.add_argument("--pool-size", type=int, default=10, help="connections per worker")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    bench.add_argument(
        "--payment-latency-ms", type=float, default=0.0, help="simulated provider latency"
    )
    bench.add_argument("--rows", type=int, default=0, help="first fill this many bookings")
    bench.add_argument(
        "--split-slots",
        type=int,
        default=32,
        help="also sell the hot tier with its stock over this many rows (1: not)",
    )
    bench.add_argument("--port", type=int, default=8099, help="port for the benchmarked server")
    bench.add_argument("--output", type=Path, help="also write the results here as JSON")
    bench.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: one client count per booking shape (no hot-tier crowd rounds)",
    )

    mailbox = commands.add_parser(
        "mailbox",
        help="development: an SMTP server on the loopback keeping every email as an .eml file",
    )
    mailbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    mailbox.add_argument("--port", type=int, default=8025, help="port to listen on")
    mailbox.add_argument(
        "--folder", type=Path, help="where to keep the messages (default: DATA_DIR/mailbox)"
    )

    venue.add_parser(commands)
    staff.add_parser(commands)
    tickets.add_parser(commands)
    queue.add_parser(commands)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document")
    openapi.add_argument("--output", type=Path, help="write it to this file instead")
    return parser


def _serve(settings: Settings, args: argparse.Namespace, database_url: str) -> int:
    import uvicorn

    from ticketbook.http.protocol import GuardedHttpToolsProtocol

    ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
    if args.seed_if_empty:
        created = asyncio.run(_seed(database_url, reset=False, if_empty=True))
        if created:
            print(f"loaded demo data: {created} concerts")
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    # Workers are separate processes: hand them the resolved URL (the embedded server's
    # socket) through the environment, so none of them starts a server of its own. Given as
    # DATABASE_URL_FILE, they read that file themselves: its password stays out of the env.
    if not os.environ.get("DATABASE_URL_FILE"):
        os.environ["DATABASE_URL"] = database_url
    # Every worker writes its metrics here; /metrics, answered by any worker, sums them.
    metrics_dir = tempfile.mkdtemp(prefix="ticketbook-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    print(f"TicketBook on http://{host}:{port}  (API under /api, OpenAPI at /api/docs)")
    uvicorn.run(
        "ticketbook.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        # httptools with the limits it lacks: 431 past TICKETBOOK_MAX_HEADER_BYTES, 408 past
        # the header and body timeouts (docs/operations.md has the measurements).
        http=GuardedHttpToolsProtocol,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        access_log=False,
        log_config=logging_config(),
        timeout_graceful_shutdown=settings.graceful_timeout_s,
        # The app reads X-Forwarded-Proto/-For itself, from TICKETBOOK_FORWARDED_ALLOW_IPS
        # only (http/forwarded.py): uvicorn's own reading would take any text as an address.
        proxy_headers=False,
    )
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


async def _seed(database_url: str, *, reset: bool, if_empty: bool) -> int:
    from ticketbook.catalog.demo import seed

    conn = await asyncpg.connect(database_url)
    try:
        return await seed(conn, reset=reset, if_empty=if_empty)
    finally:
        await conn.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password on: pass --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise ValueError("the two passwords differ")
    return password


async def _user_create(database_url: str, args: argparse.Namespace, settings: Settings) -> int:
    from ticketbook.auth.emails import normalize_email
    from ticketbook.auth.passwords import configure_hashing
    from ticketbook.auth.service import Accounts
    from ticketbook.db.pool import open_database
    from ticketbook.domain.errors import DomainError, EmailTaken

    configure_hashing(settings.password_hash)
    role = Role.ORGANIZER if args.organizer else Role.FAN
    db = await open_database(database_url, settings)
    # The operator's tool opens no sessions and checks no tokens: no signing key, no limits.
    accounts = Accounts(db=db, session_ttl_s=settings.session_ttl_s)
    try:
        email = normalize_email(args.email)
        user_id, _ = await accounts.create_account(email, _read_password(args.password_stdin), role)
    except EmailTaken:
        if not args.organizer:
            print(f"ticketbook: {email} already has an account", file=sys.stderr)
            return 1
        promoted = await accounts.set_role(email, Role.ORGANIZER)
        print(f"{email} already had an account; it is an organizer now ({promoted})")
        return 0
    except DomainError as exc:
        print(f"ticketbook: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(f"created {role} {email} ({user_id})")
    return 0


async def _tier_split(database_url: str, tier_id: uuid.UUID, slots: int) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        free = await split_stock(conn, tier_id, slots)
    finally:
        await conn.close()
    print(f"tier {tier_id}: {free} free tickets over {slots} stock slot(s)")
    return 0


async def _doctor(database_url: str, stuck_grace: float) -> int:
    from ticketbook.ops.doctor import diagnose

    conn = await asyncpg.connect(database_url)
    try:
        report = await diagnose(conn, stuck_grace)
    finally:
        await conn.close()
    for line in report.lines:
        print(line)
    verdict = "clean" if report.violations == 0 else f"{report.violations} violation(s)"
    print(f"doctor: {verdict}, {report.warnings} warning(s)")
    return 0 if report.violations == 0 else 1


def _mailbox(args: argparse.Namespace, settings: Settings) -> int:
    from ticketbook.mail.devbox import server_env, start_mailbox

    folder = args.folder or settings.data_dir / "mailbox"
    controller = start_mailbox(folder, args.host, args.port, lambda line: print(line, flush=True))
    print(
        f"mailbox on smtp://{args.host}:{args.port}, keeping mail in {folder}; send a "
        f"server's mail here with: {server_env(args.host, args.port)} make run",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        controller.stop()


def main(argv: Sequence[str] | None = None) -> int:
    logging.config.dictConfig(logging_config())
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "openapi":
            from ticketbook.app import openapi_document

            text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
            if args.output:
                args.output.write_text(text)
            else:
                sys.stdout.write(text)
            return 0
        if args.command == "mailbox":
            return _mailbox(args, settings)  # needs no database
        if args.command == "venue" and args.venue_command == "generate":
            return venue.generate(args)  # needs no database
        if args.command == "queue" and not queue.needs_database(args):
            return queue.run_offline(args)  # a downloaded draw record: no database
        if args.command == "serve":
            # Before the database starts: a bad production key should cost nothing.
            check_production_key(settings)
        database_url = resolve_database_url(settings)
        if args.command == "serve":
            return _serve(settings, args, database_url)
        if args.command == "migrate":
            upgrade_to_head(database_url)
            print("database is at the latest migration")
            return 0
        if args.command == "seed":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            created = asyncio.run(_seed(database_url, reset=args.reset, if_empty=args.if_empty))
            print(
                f"loaded demo data: {created} concerts"
                if created
                else "concerts exist; left as they are"
            )
            return 0
        if args.command == "user":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(_user_create(database_url, args, settings))
        if args.command == "tier":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(_tier_split(database_url, args.tier_id, args.slots))
        if args.command == "venue":
            if args.venue_command == "import":
                args.document = venue.read_document(args)
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(venue.run(database_url, args))
        if args.command == "staff":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(staff.run(database_url, args))
        if args.command == "tickets":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(tickets.run(database_url, args))
        if args.command == "queue":
            ensure_migrated(database_url, auto_migrate=settings.auto_migrate)
            return asyncio.run(queue.run(database_url, args))
        if args.command == "doctor":
            return asyncio.run(_doctor(database_url, args.stuck_grace))
        if args.command == "bench":
            from ticketbook.bench.cli import run_bench

            return run_bench(database_url, settings, args)
    except (ConfigError, MigrationsPending, ValueError) as exc:
        print(f"ticketbook: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"ticketbook: database error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"ticketbook: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
