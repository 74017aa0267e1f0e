"""SQL for organizers: their concerts, sales per tier, the CSV export.
Statuses are interpolated from their enum (our own constants, never input)."""

from __future__ import annotations

from ticketbook.catalog import queries as catalog
from ticketbook.domain.enums import LIVE_BOOKING_STATUSES, BookingStatus, sql_list

PENDING, CONFIRMED = BookingStatus.PENDING, BookingStatus.CONFIRMED
# Bookings that were paid for: confirmed, or cancelled (and refunded) after.
PAID_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CANCELLED)

# A new concert, owned by the organizer who creates it; its tiers follow in the same
# transaction.
#   $1 name, $2 artist, $3 venue, $4 description, $5 starts at, $6 organizer id,
#   $7 the venue's IANA zone
INSERT_CONCERT_SQL = """
INSERT INTO concerts (name, artist, venue, description, starts_at, organizer_id, timezone)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
"""

# Each tier, all of it on sale: the catalog's statement (the demo data uses it too).
INSERT_TIER_SQL = catalog.INSERT_TIER_SQL

# Who owns a concert (and what a sales report names it); no row when there is none.
OWNER_SQL = "SELECT id, name, starts_at, organizer_id FROM concerts WHERE id = $1"

# An organizer's concerts, soonest first. Served by ix_concerts_organizer_id.
MY_CONCERTS_SQL = """
SELECT id, name, starts_at, organizer_id FROM concerts WHERE organizer_id = $1
 ORDER BY starts_at, id
"""

# Live bookings per tier of one concert: held, sold and revenue. Served by
# ix_bookings_tier_id_status.
TIER_SALES_SQL = f"""
SELECT t.id, t.tier_type, t.price_cents, t.currency, t.total_quantity, t.available_quantity,
       coalesce(sum(b.quantity) FILTER (WHERE b.status = '{PENDING}'), 0)::int AS held,
       coalesce(sum(b.quantity) FILTER (WHERE b.status = '{CONFIRMED}'), 0)::int AS sold,
       coalesce(sum(b.total_cents) FILTER (WHERE b.status = '{CONFIRMED}'), 0)::bigint AS revenue
  FROM ticket_tiers t
  LEFT JOIN bookings b ON b.tier_id = t.id AND b.status IN ({sql_list(LIVE_BOOKING_STATUSES)})
 WHERE t.concert_id = $1
 GROUP BY t.id
 ORDER BY {catalog.TIER_ORDER}
"""

# The export: every booking of one concert that was paid for, oldest first. No buyer
# identity: an organizer needs the numbers, not who the fans are.
EXPORT_SQL = f"""
SELECT b.id, b.created_at, t.tier_type, b.quantity, b.unit_price_cents, b.total_cents,
       b.currency, b.status
  FROM bookings b
  JOIN ticket_tiers t ON t.id = b.tier_id
 WHERE b.concert_id = $1 AND b.status IN ({sql_list(PAID_STATUSES)})
 ORDER BY b.created_at, b.id
"""
