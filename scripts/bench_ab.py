"""Interleaved before/after of the server's CPU per request (docs/performance.md).

Two checkouts' servers, started in turn on one database, each given the same `browse` and
`spread` rounds of the benchmark (its own `Server` and scenarios), the order alternating
between rounds, so both see the same machine; CPU per request comes from /proc, as in
`make bench`. For judging a change on this noisy 2-core machine, where two `make bench`
runs an hour apart can differ by 1.5x.

    git worktree add /tmp/before <commit>      # the code to compare against
    .venv/bin/python scripts/bench_ab.py /tmp/before --rounds 4 --seconds 6

DATABASE_URL names the server whose database `ticketbook_bench` is (re)created (default: the
machine's PostgreSQL at 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from ticketbook.bench import scenarios
from ticketbook.bench.runner import (
    BenchOptions,
    _catalog,
    _fans,
    _reseed,
    _serving,
    _settle_database,
    instant_payments,
    prepare_database,
)

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _round(url: str, options: BenchOptions, data_dir: Path) -> dict[str, Any]:
    async with _serving(url, options, data_dir, instant_payments(options)) as target:
        await _settle_database(url)
        browse = (
            await scenarios.browse(target, await _catalog(url), 32, options.duration_s)
        ).summary()
        await _reseed(url)
        catalog, fans = await _fans(url, target, 64, options)
        spread = (await scenarios.spread(target, catalog, fans, 64, options.duration_s)).summary()
    return {"browse": browse, "spread": spread}


async def compare(before_src: Path, rounds: int, seconds: float) -> None:
    options = BenchOptions(duration_s=seconds)
    url = await prepare_database(os.environ.get("DATABASE_URL", DEFAULT_ADMIN_URL))
    data_dir = Path(tempfile.mkdtemp(prefix="tb-ab-"))
    results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for n in range(rounds):
        for variant in ("after", "before") if n % 2 == 0 else ("before", "after"):
            # The server is a child process: PYTHONPATH decides whose code it imports.
            if variant == "before":
                os.environ["PYTHONPATH"] = str(before_src)
            else:
                os.environ.pop("PYTHONPATH", None)
            results[variant].append(await _round(url, options, data_dir))
            print(f"round {n + 1}/{rounds}: {variant} done", flush=True)
    print("\n| | scenario | req/s | app CPU ms/req | PG CPU ms/req |\n|---|---|---|---|---|")
    for variant, runs in results.items():
        for scenario in ("browse", "spread"):
            rows = [run[scenario] for run in runs]

            def column(key: str, rows: list[dict[str, Any]] = rows) -> str:
                values = [row[key] for row in rows]
                shown = " / ".join(f"{v:g}" for v in values)
                return f"{shown} (mean {statistics.mean(values):.4g})"

            print(
                f"| {variant} | {scenario} | {column('throughput_rps')} | "
                f"{column('app_cpu_ms_per_request')} | {column('pg_cpu_ms_per_request')} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="a checkout of the code to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0, help="per scenario and round")
    args = parser.parse_args()
    before_src = args.before.resolve() / "src"
    if not (before_src / "ticketbook").is_dir():
        parser.error(f"{args.before} is not a TicketBook checkout (no src/ticketbook)")
    asyncio.run(compare(before_src, args.rounds, args.seconds))


if __name__ == "__main__":
    main()
