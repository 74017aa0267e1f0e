"""`ticketbook doctor`: checks the inventory's invariants on a live database. The checks' SQL is
in ``ops/queries.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from ticketbook.db.models import Base
from ticketbook.ops.queries import (
    CHECKIN_SCAN_MISMATCH_SQL,
    CHECKINS_ELSEWHERE_SQL,
    CONSERVATION_SQL,
    CONSTRAINTS_SQL,
    ENABLED_TRIGGERS_SQL,
    FAILING_REFUNDS_SQL,
    QUEUE_UNPLACED_SQL,
    ROW_RULES,
    SEAT_CONSERVATION_SQL,
    SEAT_HOLDER_MISMATCH_SQL,
    SEAT_TRIGGERS,
    STUCK_HOLDS_SQL,
    TICKET_TRIGGERS,
    TICKETS_ELSEWHERE_SQL,
    TICKETS_MISSING_SQL,
    TICKETS_UNREVOKED_SQL,
    UNREFUNDED_PAYMENTS_SQL,
)

# A refund still owed after this many tries is worth an operator's look.
FAILING_REFUND_ATTEMPTS = 5


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    violations: int = 0
    warnings: int = 0

    def ok(self, text: str) -> None:
        self.lines.append(f"ok    {text}")

    def violation(self, text: str) -> None:
        self.violations += 1
        self.lines.append(f"FAIL  {text}")

    def warning(self, text: str) -> None:
        self.warnings += 1
        self.lines.append(f"warn  {text}")


def expected_constraints() -> set[str]:
    names: set[str] = set()
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name is not None:
                names.add(str(constraint.name))
    return names


async def diagnose(conn: asyncpg.Connection, stuck_grace_s: float = 60.0) -> Report:
    report = Report()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        tiers = await conn.fetch(CONSERVATION_SQL)
        broken = [t for t in tiers if t["available_quantity"] + t["held"] != t["total_quantity"]]
        for t in broken:
            report.violation(
                f"conservation broken for {t['concert']} / {t['tier_type']}: available "
                f"{t['available_quantity']} + held/sold {t['held']} != total {t['total_quantity']}"
            )
        if not broken:
            sold = sum(t["held"] for t in tiers)
            report.ok(
                f"conservation holds for all {len(tiers)} tiers "
                f"({sold} tickets held or sold, {sum(t['available_quantity'] for t in tiers)} left)"
            )
        await _check_seats(conn, report)
        await _check_tickets(conn, report)
        for rule, sql in ROW_RULES.items():
            count = await conn.fetchval(sql)
            if count:
                report.violation(f"{count} rows break: {rule}")
        present = {
            r["conname"]: r["convalidated"]
            for r in await conn.fetch(CONSTRAINTS_SQL, list(Base.metadata.tables))
        }
        missing = sorted(expected_constraints() - present.keys())
        unvalidated = sorted(name for name, valid in present.items() if not valid)
        if missing:
            report.violation(f"constraints missing: {', '.join(missing)}")
        if unvalidated:
            report.violation(f"constraints not validated: {', '.join(unvalidated)}")
        if not missing and not unvalidated:
            report.ok(f"all {len(present)} constraints present and validated")
        unrefunded = await conn.fetchval(UNREFUNDED_PAYMENTS_SQL)
        if unrefunded:
            report.violation(
                f"{unrefunded} payments captured for unconfirmed bookings have no refund owed"
            )
        else:
            report.ok("every payment taken for an unconfirmed booking is refunded or owed")
        failing, failing_cents = await conn.fetchrow(FAILING_REFUNDS_SQL, FAILING_REFUND_ATTEMPTS)
        if failing:
            report.warning(
                f"{failing} refunds ({failing_cents / 100:.2f} in all) failed "
                f"{FAILING_REFUND_ATTEMPTS}+ times and are still owed (is the provider down?)"
            )
        stuck = await conn.fetchval(STUCK_HOLDS_SQL, stuck_grace_s)
        if stuck:
            report.warning(
                f"{stuck} holds are past expiry by over {stuck_grace_s:.0f}s"
                " (is the reaper running?)"
            )
        else:
            report.ok("no hold is stuck past its expiry")
    return report


async def _check_seats(conn: asyncpg.Connection, report: Report) -> None:
    """Seat conservation per concert and zone, every claim with one live booking, and the
    triggers that guarantee it in place."""
    zones = await conn.fetch(SEAT_CONSERVATION_SQL)
    broken = 0
    for z in zones:
        where = f"{z['concert']} / {z['zone']}"
        if z["seats"] != z["total_quantity"]:
            broken += 1
            report.violation(f"{where}: {z['seats']} seats but {z['total_quantity']} tickets")
        if z["free_seats"] != z["available_quantity"]:
            broken += 1
            report.violation(
                f"{where}: {z['free_seats']} free seats but {z['available_quantity']} available"
            )
    mismatched = await conn.fetchval(SEAT_HOLDER_MISMATCH_SQL)
    if mismatched:
        broken += 1
        report.violation(f"{mismatched} bookings hold other seats than they were made for")
    enabled = {r["tgname"] for r in await conn.fetch(ENABLED_TRIGGERS_SQL, list(SEAT_TRIGGERS))}
    missing = [t for t in SEAT_TRIGGERS if t not in enabled]
    if missing:
        broken += 1
        report.violation(f"seat triggers missing or disabled: {', '.join(missing)}")
    if not broken:
        seats = sum(z["seats"] for z in zones)
        free = sum(z["free_seats"] for z in zones)
        report.ok(
            f"seat conservation holds for all {len(zones)} seated zones "
            f"({seats - free} of {seats} seats held or sold, each by one live booking)"
        )


# Each check counts what breaks it: (its SQL, what the count is of).
TICKET_CHECKS = (
    (TICKETS_MISSING_SQL, "confirmed bookings don't have one live ticket per admission"),
    (TICKETS_UNREVOKED_SQL, "bookings that aren't confirmed still have live tickets"),
    (TICKETS_ELSEWHERE_SQL, "tickets name another concert or tier than their booking"),
    (CHECKINS_ELSEWHERE_SQL, "check-ins are of a ticket of another concert or admission"),
    (CHECKIN_SCAN_MISMATCH_SQL, "check-ins and ADMIT scans don't match one to one"),
    (QUEUE_UNPLACED_SQL, "waiting-room places missed by the draw or past the queue"),
)


async def _check_tickets(conn: asyncpg.Connection, report: Report) -> None:
    """One live ticket per admission of a confirmed booking and none for any other, check-ins
    of the concert their ticket is for, each with the scan that made it, and the triggers that
    issue and revoke tickets in place."""
    broken = 0
    for count_sql, what in TICKET_CHECKS:
        count = await conn.fetchval(count_sql)
        if count:
            broken += 1
            report.violation(f"{count} {what}")
    enabled = {r["tgname"] for r in await conn.fetch(ENABLED_TRIGGERS_SQL, list(TICKET_TRIGGERS))}
    gone = [t for t in TICKET_TRIGGERS if t not in enabled]
    if gone:
        broken += 1
        report.violation(f"ticket triggers missing or disabled: {', '.join(gone)}")
    if not broken:
        report.ok(
            "every confirmed booking has one live ticket per admission, no other booking has "
            "any, and every check-in is of its own concert's ticket"
        )
