"""`ticketbook doctor`: checks the inventory's invariants on a live database."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from ticketbook.db.models import Base

# available + sum(quantity of PENDING and CONFIRMED bookings) = total, for every tier.
CONSERVATION_SQL = """
SELECT t.id, t.tier_type, c.name AS concert, t.total_quantity, t.available_quantity,
       coalesce(b.held, 0)::int AS held
  FROM ticket_tiers t
  JOIN concerts c ON c.id = t.concert_id
  LEFT JOIN (SELECT tier_id, sum(quantity) AS held
               FROM bookings
              WHERE status IN ('PENDING', 'CONFIRMED')
              GROUP BY tier_id) b ON b.tier_id = t.id
 ORDER BY c.starts_at, t.tier_type
"""

# Rows that break a rule the CHECK constraints state (they can only exist if a constraint
# was dropped or disabled, which is exactly what this looks for).
ROW_RULES = {
    "tier availability outside 0..total": "SELECT count(*) FROM ticket_tiers "
    "WHERE available_quantity < 0 OR available_quantity > total_quantity",
    "negative tier price": "SELECT count(*) FROM ticket_tiers WHERE price_cents < 0",
    "booking quantity outside 1..10": "SELECT count(*) FROM bookings "
    "WHERE quantity NOT BETWEEN 1 AND 10",
    "booking total != unit price x quantity": "SELECT count(*) FROM bookings "
    "WHERE total_cents <> unit_price_cents * quantity",
    "booking tier belongs to another concert": "SELECT count(*) FROM bookings b "
    "JOIN ticket_tiers t ON t.id = b.tier_id WHERE t.concert_id <> b.concert_id",
}

STUCK_HOLDS_SQL = """
SELECT count(*) FROM bookings
 WHERE status = 'PENDING' AND hold_expires_at < now() - make_interval(secs => $1)
"""

# $1: every table the models define.
CONSTRAINTS_SQL = """
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = ANY ($1::regclass[])
"""


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
        stuck = await conn.fetchval(STUCK_HOLDS_SQL, stuck_grace_s)
        if stuck:
            report.warning(
                f"{stuck} holds are past expiry by over {stuck_grace_s:.0f}s"
                " (is the reaper running?)"
            )
        else:
            report.ok("no hold is stuck past its expiry")
    return report
