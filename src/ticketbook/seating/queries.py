"""SQL for layouts and seated concerts (the seat holds themselves are booking SQL:
booking/seat_queries.py)."""

from __future__ import annotations

from ticketbook.domain.enums import TierType

INSERT_LAYOUT_SQL = """
INSERT INTO venue_layouts (name, organizer_id, document, seat_count)
VALUES ($1, $2, $3::jsonb, $4)
RETURNING id, version
"""

# Replace a layout: the same id, the next version (its ETag).
REPLACE_LAYOUT_SQL = """
UPDATE venue_layouts
   SET name = $2, document = $3::jsonb, seat_count = $4, version = version + 1, updated_at = now()
 WHERE id = $1
RETURNING id, version
"""

GET_LAYOUT_SQL = """
SELECT id, name, organizer_id, document, seat_count, version, created_at, updated_at
  FROM venue_layouts WHERE id = $1
"""

LAYOUT_VERSION_SQL = "SELECT version FROM venue_layouts WHERE id = $1"

# The concerts seated on a layout, and whether any booking was ever made for their seats.
CONCERTS_ON_LAYOUT_SQL = f"""
SELECT c.id, c.name,
       EXISTS (SELECT FROM bookings b JOIN ticket_tiers t ON t.id = b.tier_id
                WHERE b.concert_id = c.id AND t.tier_type = '{TierType.SEATED}') AS has_bookings
  FROM concerts c WHERE c.layout_id = $1
"""

# A concert's seated tiers, locked while they are replaced.
SEATED_TIERS_SQL = f"""
SELECT t.id, t.zone,
       EXISTS (SELECT FROM bookings b WHERE b.tier_id = t.id) AS has_bookings
  FROM ticket_tiers t
 WHERE t.concert_id = $1 AND t.tier_type = '{TierType.SEATED}'
 ORDER BY t.zone
   FOR UPDATE OF t
"""

DELETE_SEATED_TIERS_SQL = f"""
DELETE FROM ticket_tiers WHERE concert_id = $1 AND tier_type = '{TierType.SEATED}'
"""

INSERT_SEATED_TIER_SQL = f"""
INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity, zone,
                          zone_name)
VALUES ($1, '{TierType.SEATED}', $2, $3, $4, $5, $6)
RETURNING id
"""

ANALYZE_SEATS_SQL = "ANALYZE concert_seats"

SET_CONCERT_LAYOUT_SQL = "UPDATE concerts SET layout_id = $2, updated_at = now() WHERE id = $1"

LOCK_CONCERT_SQL = (
    "SELECT id, layout_id, organizer_id, starts_at FROM concerts WHERE id = $1 FOR UPDATE"
)

CONCERT_SEATING_SQL = """
SELECT c.id, c.layout_id, l.version, c.name, c.venue, c.starts_at, c.timezone
  FROM concerts c LEFT JOIN venue_layouts l ON l.id = c.layout_id
 WHERE c.id = $1
"""

# The seated tiers of a concert with their prices and counts.
ZONE_TIERS_SQL = f"""
SELECT t.id, t.zone, t.zone_name, t.price_cents, t.currency, t.total_quantity,
       t.available_quantity
  FROM ticket_tiers t
 WHERE t.concert_id = $1 AND t.tier_type = '{TierType.SEATED}'
 ORDER BY t.zone
"""
