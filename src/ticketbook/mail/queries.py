"""SQL for the mail outbox (email_outbox: written by the booking trigger and by transfers)."""

from __future__ import annotations

# Claim the next due message, right before sending it: it is leased for $1 seconds (its next
# attempt moves past the send), so another process's sender skips it now (SKIP LOCKED) and
# after this statement (the lease). One at a time, so the lease covers one send, however slow
# the server is with the others. A sender that dies mid-send leaves the lease to run out: the
# message is sent again then, at least once, never lost.
#   $1 lease in seconds
CLAIM_SQL = """
UPDATE email_outbox o
   SET next_attempt_at = now() + make_interval(secs => $1)
  FROM (SELECT id FROM email_outbox
         WHERE sent_at IS NULL AND next_attempt_at <= now()
         ORDER BY next_attempt_at
         LIMIT 1
           FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.kind, o.to_address, o.booking_id, o.ticket_id, o.attempts
"""

SENT_SQL = """
UPDATE email_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL
 WHERE id = $1 AND sent_at IS NULL
"""

# A failed attempt: counted, its error kept, the next one after $3 seconds.
#   $1 id, $2 error, $3 delay in seconds
FAILED_SQL = """
UPDATE email_outbox
   SET attempts = attempts + 1, last_error = left($2, 1000),
       next_attempt_at = now() + make_interval(secs => $3)
 WHERE id = $1 AND sent_at IS NULL
"""

WAITING_SQL = "SELECT count(*) FROM email_outbox WHERE sent_at IS NULL"

# The fan a booking's confirmation is for.
BOOKING_USER_SQL = "SELECT user_id FROM bookings WHERE id = $1"

# Who gave a ticket away (named in the new holder's email).
TRANSFER_SENDER_SQL = """
SELECT u.email FROM ticket_transfers tt JOIN users u ON u.id = tt.from_user_id
 WHERE tt.to_ticket_id = $1
"""
