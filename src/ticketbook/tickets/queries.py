"""SQL for fans' tickets: what a holder sees, tickets given to them, transfers, key rotation.
Enum values are interpolated from their enums (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import BookingStatus, EmailKind, Role, TicketRevocation

CONFIRMED = BookingStatus.CONFIRMED
TRANSFERRED = TicketRevocation.TRANSFERRED

# What every ticket view reads: the ticket, its concert, its tier, its holder, its check-in,
# the section's name from the layout (a seat code starts with its section's key), and for a
# ticket given away, the name it was given to.
_TICKET_COLUMNS = """
t.id, t.booking_id, t.concert_id, t.tier_id, t.admission, t.seat, t.holder_id,
t.holder_name, u.email AS holder_email, t.transferred_from, t.created_at, t.revoked_at,
t.revoked_reason, b.user_id AS owner_id,
c.name AS concert_name, c.artist, c.venue, c.starts_at, c.timezone, c.ticket_key_version,
tt.tier_type, tt.zone_name,
(SELECT s->>'name' FROM jsonb_array_elements(l.document->'sections') s
  WHERE s->>'key' = split_part(t.seat, ':', 1) LIMIT 1) AS section_name,
ci.admitted_at, ci.gate AS admitted_gate,
nxt.holder_name AS transferred_to_name, nu.email AS transferred_to_email
"""
_TICKET_JOINS = """
  JOIN bookings b ON b.id = t.booking_id
  JOIN concerts c ON c.id = t.concert_id
  JOIN ticket_tiers tt ON tt.id = t.tier_id
  JOIN users u ON u.id = t.holder_id
  LEFT JOIN venue_layouts l ON l.id = c.layout_id
  LEFT JOIN checkins ci ON ci.booking_id = t.booking_id AND ci.admission = t.admission
  LEFT JOIN tickets nxt ON nxt.transferred_from = t.id
  LEFT JOIN users nu ON nu.id = nxt.holder_id
"""

# A booking's owner, and whether it exists (the ownership check: 404 for anyone else).
BOOKING_OWNER_SQL = "SELECT user_id, status FROM bookings WHERE id = $1"

# The tickets of one booking that one user holds or held: per admission the latest ticket
# they were its holder of (a ticket given away shows as revoked, never with the new code).
#   $1 booking id, $2 the viewer
TICKETS_OF_BOOKING_SQL = f"""
SELECT DISTINCT ON (t.admission) {_TICKET_COLUMNS}
  FROM tickets t {_TICKET_JOINS}
 WHERE t.booking_id = $1 AND t.holder_id = $2
 ORDER BY t.admission, t.created_at DESC, t.id
"""

# One ticket by id (the emailed link, the outbox's transfer message).
TICKET_SQL = f"SELECT {_TICKET_COLUMNS} FROM tickets t {_TICKET_JOINS} WHERE t.id = $1"

# Live tickets someone gave this user, in bookings that are not theirs, by concert date.
RECEIVED_TICKETS_SQL = f"""
SELECT {_TICKET_COLUMNS}
  FROM tickets t {_TICKET_JOINS}
 WHERE t.holder_id = $1 AND b.user_id <> $1 AND t.revoked_at IS NULL
 ORDER BY c.starts_at, t.booking_id, t.admission
"""

# -- transfers (one transaction, in this order) ---------------------------------------------

# The booking first, FOR SHARE: a cancel (which locks the booking row and then revokes its
# tickets in its trigger) waits for this transfer to commit, and then revokes the new ticket
# too. Locking in the cancel's order (booking, then ticket) keeps the two deadlock-free.
#   $1 ticket id
LOCK_BOOKING_SQL = """
SELECT b.id, b.status FROM bookings b
 WHERE b.id = (SELECT booking_id FROM tickets WHERE id = $1)
   FOR SHARE OF b
"""
# Then the ticket, FOR UPDATE: a second transfer of it waits and then finds it revoked
# (READ COMMITTED re-reads a locked row that changed); a check-in in flight (the scan holds
# the ticket FOR SHARE while it inserts its checkins row) commits first.
LOCK_TICKET_SQL = """
SELECT t.id, t.booking_id, t.concert_id, t.admission, t.holder_id, t.revoked_at,
       c.starts_at <= now() AS concert_started
  FROM tickets t JOIN concerts c ON c.id = t.concert_id
 WHERE t.id = $1
   FOR UPDATE OF t
"""
# Whether the admission has entered: its own statement, after the lock, so under READ
# COMMITTED its snapshot includes a check-in the lock waited for. (In the locking statement
# an EXISTS would read the snapshot from before the wait: only the locked row is re-read,
# so a ticket checked in while the transfer waited would still read as unused.)
#   $1 booking id, $2 admission
CHECKED_IN_SQL = """
SELECT EXISTS (SELECT 1 FROM checkins WHERE booking_id = $1 AND admission = $2)
"""
# The recipient: the account with that (normalized) email, made when there is none, with a
# password hash that matches no password ($2). Returns its id either way.
#   $1 email, $2 unusable password hash
RECIPIENT_SQL = f"""
WITH made AS (
    INSERT INTO users (role, email, password_hash) VALUES ('{Role.FAN}', $1, $2)
    ON CONFLICT (email) DO NOTHING
    RETURNING id, true AS created
)
SELECT id, created FROM made
 UNION ALL
SELECT id, false FROM users WHERE email = $1
 LIMIT 1
"""
# Revoke the old ticket and issue the new one (same admission) in one statement.
#   $1 old ticket id, $2 new holder, $3 holder name
TRANSFER_SQL = f"""
WITH revoked AS (
    UPDATE tickets SET revoked_at = now(), revoked_reason = '{TRANSFERRED}'
     WHERE id = $1 AND revoked_at IS NULL
 RETURNING booking_id, concert_id, tier_id, admission, seat, id
)
INSERT INTO tickets (booking_id, concert_id, tier_id, admission, seat, holder_id, holder_name,
                     transferred_from)
SELECT booking_id, concert_id, tier_id, admission, seat, $2, $3, id FROM revoked
RETURNING id
"""
#   $1 concert, $2 old ticket, $3 new ticket, $4 from user, $5 to user
LOG_TRANSFER_SQL = """
INSERT INTO ticket_transfers (concert_id, from_ticket_id, to_ticket_id, from_user_id, to_user_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""
#   $1 to address, $2 booking, $3 new ticket
QUEUE_TRANSFER_MAIL_SQL = f"""
INSERT INTO email_outbox (kind, to_address, booking_id, ticket_id)
VALUES ('{EmailKind.TICKET_TRANSFERRED}', $1, $2, $3)
"""

# -- keys -----------------------------------------------------------------------------------

# Every code signed under the old version stops verifying at once.
ROTATE_KEY_SQL = """
UPDATE concerts SET ticket_key_version = ticket_key_version + 1, updated_at = now()
 WHERE id = $1
RETURNING ticket_key_version
"""
