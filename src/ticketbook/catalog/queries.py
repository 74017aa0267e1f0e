"""SQL for the catalog: concert and tier reads, and the demo data's load.
Tier types are interpolated from their enum (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import TierType, sql_list

# A concert's tiers in the one order everything shows them: VIP, FRONT_ROW, GA (the enum's).
TIER_ORDER = f"array_position(ARRAY[{sql_list(TierType)}], t.tier_type)"

_CONCERT_COLUMNS = """
    c.id, c.name, c.artist, c.venue, c.description, c.starts_at, c.timezone, c.created_at,
    c.updated_at, t.id AS tier_id, t.tier_type, t.price_cents, t.currency, t.total_quantity,
    t.available_quantity, t.zone, t.zone_name, t.created_at AS tier_created_at,
    t.updated_at AS tier_updated_at, c.layout_id
"""

# Upcoming concerts, soonest first (ix_concerts_starts_at), tiers by concert (uq on concert_id).
LIST_UPCOMING_SQL = f"""
SELECT {_CONCERT_COLUMNS}
  FROM concerts c
  JOIN ticket_tiers t ON t.concert_id = c.id
 WHERE c.starts_at >= now()
 ORDER BY c.starts_at, c.id, {TIER_ORDER}, t.zone
"""

# One concert with its tiers, past or upcoming; no rows when there is no such concert.
GET_CONCERT_SQL = f"""
SELECT {_CONCERT_COLUMNS}
  FROM concerts c
  JOIN ticket_tiers t ON t.concert_id = c.id
 WHERE c.id = $1
 ORDER BY {TIER_ORDER}, t.zone
"""

# A concert's tier, all of it on sale: the tb_seed_stock trigger (migration 0005) puts its
# tickets in its stock slots. Organizers' concerts use it too.
#   $1 concert id, $2 tier type, $3 price in cents, $4 currency, $5 tickets
INSERT_TIER_SQL = """
INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity)
VALUES ($1, $2, $3, $4, $5)
"""

# -- the demo data (`ticketbook seed`), in one transaction ---------------------------------

# One seeder at a time ($1: JobLock.SEED), until the transaction ends.
SEED_LOCK_SQL = "SELECT pg_advisory_xact_lock($1)"
# --if-empty: is there a catalog already?
ANY_CONCERT_SQL = "SELECT EXISTS (SELECT 1 FROM concerts)"
# Bookings are never wiped without --reset.
ANY_BOOKING_SQL = "SELECT EXISTS (SELECT 1 FROM bookings)"
# The catalog and everything that hangs off it; accounts and sessions stay.
TRUNCATE_CATALOG_SQL = (
    "TRUNCATE queue_entries, onsales, email_outbox, ticket_transfers, checkin_scans, checkins,"
    " checkin_staff, tickets,"
    " refunds, idempotency_keys, concert_seats, payments, bookings, tier_stock,"
    " ticket_tiers, concerts, venue_layouts"
)
# --reset: everything, accounts, sessions and rate-limit counters included.
TRUNCATE_ALL_SQL = TRUNCATE_CATALOG_SQL + ", auth_sessions, rate_limit_buckets, users"
# A demo concert (no organizer).
#   $1 name, $2 artist, $3 venue, $4 description, $5 starts at, $6 the venue's IANA zone
INSERT_DEMO_CONCERT_SQL = """
INSERT INTO concerts (name, artist, venue, description, starts_at, timezone)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
