"""SQL for operations: `ticketbook doctor`'s checks on a live database, and the health probes.
Statuses and limits are interpolated from their enums (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import (
    LIVE_BOOKING_STATUSES,
    MAX_TICKETS_PER_BOOKING,
    BookingStatus,
    PaymentStatus,
    RefundStatus,
    ScanOutcome,
    TierType,
    sql_list,
)

# -- doctor ----------------------------------------------------------------------------------

# The conservation law, per tier: available + sum(quantity of live bookings) = total. Every
# tier with what its live bookings hold; doctor compares.
CONSERVATION_SQL = f"""
SELECT t.id, t.tier_type, c.name AS concert, t.total_quantity, t.available_quantity,
       coalesce(b.held, 0)::int AS held
  FROM ticket_tiers t
  JOIN concerts c ON c.id = t.concert_id
  LEFT JOIN (SELECT tier_id, sum(quantity) AS held
               FROM bookings
              WHERE status IN ({sql_list(LIVE_BOOKING_STATUSES)})
              GROUP BY tier_id) b ON b.tier_id = t.id
 ORDER BY c.starts_at, t.tier_type
"""

# Money captured (or maybe captured: a timeout) for a booking that is not confirmed, with no
# refund owed for it: lost unless someone notices. Every statement that unconfirms a paid
# booking owes its refund in the same statement, so this should always be 0.
UNREFUNDED_PAYMENTS_SQL = f"""
SELECT count(*) FROM payments p
  JOIN bookings b ON b.id = p.booking_id
 WHERE p.status IN ('{PaymentStatus.SUCCEEDED}', '{PaymentStatus.TIMEOUT}')
   AND b.status <> '{BookingStatus.CONFIRMED}' AND p.amount_cents > 0
   AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)
"""

# Refunds the provider keeps failing ($1 attempts or more): money owed, not yet given back.
FAILING_REFUNDS_SQL = f"""
SELECT count(*), coalesce(sum(amount_cents), 0)::bigint AS amount_cents
  FROM refunds WHERE status = '{RefundStatus.PENDING}' AND attempts >= $1
"""

# Rows that break a rule the CHECK constraints state (they can only exist if a constraint
# was dropped or disabled, which is exactly what this looks for): rule → count of such rows.
ROW_RULES = {
    "tier stock slot below 0": "SELECT count(*) FROM tier_stock WHERE available < 0",
    "tier availability above its total": "SELECT count(*) FROM ticket_tiers t "
    "WHERE t.available_quantity > t.total_quantity",
    "negative tier price": "SELECT count(*) FROM ticket_tiers WHERE price_cents < 0",
    f"booking quantity outside 1..{MAX_TICKETS_PER_BOOKING}": "SELECT count(*) FROM bookings "
    f"WHERE quantity NOT BETWEEN 1 AND {MAX_TICKETS_PER_BOOKING}",
    "booking total != unit price x quantity": "SELECT count(*) FROM bookings "
    "WHERE total_cents <> unit_price_cents * quantity",
    "booking tier belongs to another concert": "SELECT count(*) FROM bookings b "
    "JOIN ticket_tiers t ON t.id = b.tier_id WHERE t.concert_id <> b.concert_id",
}

# Seat conservation, per seated tier (a price zone of one concert): its seats, its free
# seats and its stock count; doctor checks seats = total and free seats = available.
SEAT_CONSERVATION_SQL = f"""
SELECT t.id AS tier_id, c.name AS concert, t.zone_name AS zone, t.total_quantity,
       (SELECT count(*) FROM concert_seats s WHERE s.tier_id = t.id)::int AS seats,
       (SELECT count(*) FROM concert_seats s WHERE s.tier_id = t.id
           AND s.booking_id IS NULL)::int AS free_seats,
       t.available_quantity
  FROM ticket_tiers t JOIN concerts c ON c.id = t.concert_id
 WHERE t.tier_type = '{TierType.SEATED}'
 ORDER BY c.starts_at, t.zone
"""

# Seats held against the rules: a live seated booking holding other than its quantity of
# seats, a seat held by a booking that is no longer live (migration 0006's trigger stops
# that), or by a booking of another tier or for other seats.
SEAT_HOLDER_MISMATCH_SQL = f"""
SELECT count(*) FROM (
    SELECT b.id FROM bookings b
      LEFT JOIN concert_seats s ON s.booking_id = b.id
     WHERE b.seats IS NOT NULL AND b.status IN ({sql_list(LIVE_BOOKING_STATUSES)})
     GROUP BY b.id, b.quantity HAVING count(s.ordinal) <> b.quantity
    UNION ALL
    SELECT b.id FROM concert_seats s JOIN bookings b ON b.id = s.booking_id
     WHERE b.status NOT IN ({sql_list(LIVE_BOOKING_STATUSES)})
    UNION ALL
    SELECT s.booking_id FROM concert_seats s JOIN bookings b ON b.id = s.booking_id
     WHERE b.tier_id <> s.tier_id OR NOT (s.code = ANY (b.seats))
) broken
"""

# The triggers that keep a seat's claim with one live booking (migration 0006).
SEAT_TRIGGERS = ("tb_guard_seat_holder", "tb_guard_live_holder")
ENABLED_TRIGGERS_SQL = "SELECT tgname FROM pg_trigger WHERE tgname = ANY ($1) AND tgenabled <> 'D'"

# Confirmed bookings without exactly one live ticket per admission (migration 0007's
# triggers issue them in the statement that confirms the booking).
TICKETS_MISSING_SQL = f"""
SELECT count(*) FROM bookings b
 WHERE b.status = '{BookingStatus.CONFIRMED}'
   AND b.quantity <> (SELECT count(*) FROM tickets t
                       WHERE t.booking_id = b.id AND t.revoked_at IS NULL)
"""

# Bookings that aren't confirmed (cancelled, failed...) yet have a live ticket: a door would
# let someone in who no longer paid.
TICKETS_UNREVOKED_SQL = f"""
SELECT count(DISTINCT t.booking_id) FROM tickets t JOIN bookings b ON b.id = t.booking_id
 WHERE t.revoked_at IS NULL AND b.status <> '{BookingStatus.CONFIRMED}'
"""

# Tickets or check-ins that disagree about which concert, booking or admission they are of.
CHECKINS_ELSEWHERE_SQL = """
SELECT count(*) FROM checkins ch
  JOIN tickets t ON t.id = ch.ticket_id
  JOIN bookings b ON b.id = ch.booking_id
 WHERE t.concert_id <> ch.concert_id OR b.concert_id <> ch.concert_id
    OR t.booking_id <> ch.booking_id OR t.admission <> ch.admission
"""
TICKETS_ELSEWHERE_SQL = """
SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id
 WHERE t.concert_id <> b.concert_id OR t.tier_id <> b.tier_id
"""

# Waiting rooms (docs/queue.md): after the draw every early joiner has a place, and no place
# lies past the on-sale's next one (a late arrival's would be handed out twice).
QUEUE_UNPLACED_SQL = """
SELECT count(*) FROM queue_entries q JOIN onsales o ON o.concert_id = q.concert_id
 WHERE (o.drawn_at IS NOT NULL AND q.position IS NULL) OR q.position >= o.next_position
"""

# Check-ins without the ADMIT scan that made them, or ADMIT scans without their check-in:
# the scan log and the entries (which the gate counts are counted from) would disagree.
CHECKIN_SCAN_MISMATCH_SQL = f"""
SELECT (SELECT count(*) FROM checkins ch WHERE NOT EXISTS (
            SELECT 1 FROM checkin_scans s
             WHERE s.scan_id = ch.scan_id AND s.outcome = '{ScanOutcome.ADMIT}'))
     + (SELECT count(*) FROM checkin_scans s WHERE s.outcome = '{ScanOutcome.ADMIT}'
           AND NOT EXISTS (SELECT 1 FROM checkins ch WHERE ch.scan_id = s.scan_id))
"""

# The triggers that issue and revoke tickets with their booking (migration 0007).
TICKET_TRIGGERS = ("tb_issue_tickets", "tb_issue_tickets_on_insert", "tb_revoke_tickets")

# Holds the reaper should have expired: PENDING more than $1 seconds past their expiry.
STUCK_HOLDS_SQL = f"""
SELECT count(*) FROM bookings
 WHERE status = '{BookingStatus.PENDING}' AND hold_expires_at < now() - make_interval(secs => $1)
"""

# The constraints on the tables, and whether each is validated. $1: every table the models
# define.
CONSTRAINTS_SQL = """
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = ANY ($1::regclass[])
"""

# -- health probes ---------------------------------------------------------------------------

# Liveness: the database answers.
PING_SQL = "SELECT 1"

# Readiness: the schema's Alembic revision (compared with this code's head).
SCHEMA_REVISION_SQL = "SELECT version_num FROM alembic_version"
