"""`ticketbook bench`: argument handling and the printed report."""

from __future__ import annotations

import argparse
import asyncio
import json

from ticketbook.auth.secrets import load_secret_key
from ticketbook.bench.runner import (
    BenchOptions,
    machine_description,
    prepare_database,
    run_scenarios,
    summary_table,
)
from ticketbook.settings import Settings


def run_bench(admin_url: str, settings: Settings, args: argparse.Namespace) -> int:
    options = BenchOptions(
        workers=args.workers,
        pool_size=args.pool_size,
        duration_s=args.duration,
        payment_latency_ms=args.payment_latency_ms,
        rows=args.rows,
        split_slots=args.split_slots,
        port=args.port,
        output=args.output,
        quick=args.quick,
    )
    url = asyncio.run(prepare_database(admin_url))
    # The key the server will load too (generated into the data directory in development).
    secret_key = load_secret_key(settings)
    results = asyncio.run(run_scenarios(url, options, settings.data_dir, secret_key))
    print()
    print(
        f"machine: {machine_description()}; server: {options.workers} workers x "
        f"{options.pool_size} connections; payment latency {options.payment_latency_ms} ms "
        "(hot-tier-realistic: 150 ms ± 100 ms, default timeouts)"
    )
    print(summary_table(results))
    if options.output:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(results, indent=2) + "\n")
    clean = all(
        r.get("inventory", {}).get("oversold_tickets", 0) == 0
        and r.get("inventory", {}).get("conservation_holds", True)
        for r in results
    )
    return 0 if clean else 1
