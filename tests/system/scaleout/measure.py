"""Measure the scale-out topologies on this machine, in one run, with the bench's load shapes.

    .venv/bin/python -m tests.system.scaleout.measure [--duration 5] [--rounds 2]

Starts a PostgreSQL 18 primary (durable settings: fsync on) and a streaming replica on
loopback, PgBouncer (transaction mode) in front of the primary, then for each topology starts
`ticketbook serve --workers 2` and runs the bench's browse, hot-tier and spread scenarios
(`ticketbook.bench.scenarios`), checking the inventory after each booking scenario:

- ``direct``: the app connects to the primary (the default set-up);
- ``direct-nocache``: the same without asyncpg's statement cache, which is what PgBouncer mode
  implies; it separates the cost of unnamed statements from the cost of the extra hop;
- ``pgbouncer``: through PgBouncer with TICKETBOOK_PGBOUNCER=1, 20 server connections;
- ``pgbouncer-squeezed``: the same with 4 server connections for the app's 20;
- ``replica``: READ_DATABASE_URL set: catalog reads from the replica.

Topologies run in turn, ``--rounds`` times, so they share the machine's noise. Not a test:
figures on a shared 2-core machine are noisy, read them as ratios. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.server import free_port
from tests.system.scaleout.processes import (
    Backend,
    LocalPostgres,
    PgBouncer,
    pgbouncer_binary,
    postgres_bin_dir,
    prepare_postgres_binaries,
    private_dir,
)
from ticketbook.bench import runner, scenarios
from ticketbook.bench.scenarios import Target
from ticketbook.db.migrate import upgrade_to_head
from ticketbook.db.pool import server_defaults
from ticketbook.settings import Settings

DURABLE = (
    "-c shared_buffers=128MB -c max_connections=100 -c max_wal_senders=4 -c wal_keep_size=256MB"
)
DATABASE = "ticketbook_scaleout"


async def _measure(url: str, env: dict[str, str], duration_s: float) -> dict[str, Any]:
    options = runner.BenchOptions(duration_s=duration_s, port=free_port())
    saved = dict(os.environ)
    os.environ.update(env)
    data_dir = Path(tempfile.mkdtemp(prefix="tb-measure-"))
    server = runner.Server(env["DATABASE_URL"], options, data_dir)
    os.environ.clear()
    os.environ.update(saved)
    results: dict[str, Any] = {}
    try:
        await asyncio.to_thread(server.wait_healthy)
        target = Target("127.0.0.1", options.port, url)
        await runner._reseed(url)
        catalog = await runner._catalog(url)
        await runner._settle_database(url)
        browse = await scenarios.browse(target, catalog, options.browse_clients, duration_s)
        results["browse"] = browse.summary()
        clients = options.booking_clients
        for shape, run in (("hot-tier", scenarios.hot_tier), ("spread", scenarios.spread)):
            await runner._reseed(url)
            catalog = await runner._catalog(url)
            # A pool of fans, as in the bench: the per-fan cap runs at its default.
            guests = await scenarios.make_guests(target, scenarios.fans_needed(clients, duration_s))
            await runner._settle_database(url)
            recorder = await run(target, catalog, scenarios.Fans(guests), clients, duration_s)
            results[shape] = recorder.summary(**await runner._inventory(url))
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    if env.get("MEASURE_RAW_SQL"):
        # The physical limit, as in the bench: the app's two statements straight from asyncpg.
        for shape in ("hot-tier", "spread"):
            await runner._reseed(url)
            catalog = await runner._catalog(url)
            tiers = [catalog.hot_tier_id] if shape == "hot-tier" else catalog.tier_ids
            await runner._settle_database(url)
            raw = await scenarios.raw_sql(
                url,
                tiers,
                options.booking_clients,
                options.workers * options.pool_size,
                duration_s,
                f"raw-sql-{shape}",
            )
            results[f"raw-sql-{shape}"] = raw.summary(**await runner._inventory(url))
    return results


async def _set_database_defaults(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        for name, value in server_defaults(Settings()).items():
            await conn.execute(f"ALTER DATABASE \"{DATABASE}\" SET {name} = '{value}'")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    bin_dir, bouncer_bin = postgres_bin_dir(), pgbouncer_binary()
    if bin_dir is None or bouncer_bin is None:
        raise SystemExit("needs pgbouncer and the PostgreSQL 18 binaries (tests/system/scaleout)")
    prepare_postgres_binaries(bin_dir)
    root = private_dir("tb-measure-")
    primary = LocalPostgres(bin_dir, root, "primary", DURABLE)
    replica = LocalPostgres(bin_dir, root, "replica", DURABLE)
    bouncers: list[PgBouncer] = []
    try:
        primary.init_primary().start()
        asyncio.run(_set_database_defaults(primary.url()))
        replica.init_replica_of(primary).start()
        url = primary.url(DATABASE)
        upgrade_to_head(url)
        wide = PgBouncer(bouncer_bin, Backend.from_url(url), pool_size=20).start()
        narrow = PgBouncer(bouncer_bin, Backend.from_url(url), pool_size=4).start()
        bouncers += [wide, narrow]
        via_bouncer = {"TICKETBOOK_PGBOUNCER": "1", "TICKETBOOK_LIVE_DATABASE_URL": url}
        topologies: dict[str, dict[str, str]] = {
            "direct": {"DATABASE_URL": url, "MEASURE_RAW_SQL": "1"},
            "direct-nocache": {"DATABASE_URL": url, "TICKETBOOK_STATEMENT_CACHE_SIZE": "0"},
            "pgbouncer": {"DATABASE_URL": wide.url(DATABASE), **via_bouncer},
            "pgbouncer-squeezed": {"DATABASE_URL": narrow.url(DATABASE), **via_bouncer},
            "replica": {"DATABASE_URL": url, "READ_DATABASE_URL": replica.url(DATABASE)},
        }
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in topologies}
        for round_no in range(args.rounds):
            for name, env in topologies.items():
                env = {**env, "TICKETBOOK_AUTO_MIGRATE": "0"}
                print(f"--- round {round_no + 1}: {name}", flush=True)
                result = asyncio.run(_measure(url, env, args.duration))
                rows[name].append(result)
                print(
                    f"=== {name}: "
                    + ", ".join(f"{k} {v['throughput_rps']} req/s" for k, v in result.items()),
                    flush=True,
                )
        print()
        print(
            "| topology | browse req/s (p99 ms) | hot-tier req/s | spread req/s | oversold "
            "| doctor |"
        )
        print("|---|---:|---:|---:|---:|---|")
        raw = [r for r in rows["direct"] if "raw-sql-hot-tier" in r]
        if raw:
            print(
                "raw SQL (direct, no HTTP): hot-tier "
                + " / ".join(f"{r['raw-sql-hot-tier']['throughput_rps']:.0f}" for r in raw)
                + ", spread "
                + " / ".join(f"{r['raw-sql-spread']['throughput_rps']:.0f}" for r in raw)
                + " bookings/s"
            )
        for name, runs in rows.items():

            def cell(shape: str, runs: list[dict[str, Any]] = runs) -> str:
                values = [r[shape]["throughput_rps"] for r in runs]
                return (
                    " / ".join(f"{v:.0f}" for v in values)
                    + f" (median {statistics.median(values):.0f})"
                )

            p99 = " / ".join(f"{r['browse']['p99_ms']:.0f}" for r in runs)
            checks = [r[s]["inventory"] for r in runs for s in ("hot-tier", "spread")]
            oversold = sum(c["oversold_tickets"] for c in checks)
            doctor = "clean" if all(c["doctor"] == "clean" for c in checks) else "VIOLATIONS"
            print(
                f"| {name} | {cell('browse')} ({p99}) | {cell('hot-tier')} | {cell('spread')} | "
                f"{oversold} | {doctor} |"
            )
    finally:
        for bouncer in bouncers:
            bouncer.stop()
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
