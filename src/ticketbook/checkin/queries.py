"""SQL for check-in: the scan (one statement), the offline bundle, conflicts, door staff.
Outcomes and roles are interpolated from their enums (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import Role, ScanOutcome, TierType

ADMIT, ALREADY_USED = ScanOutcome.ADMIT, ScanOutcome.ALREADY_USED
INVALID, REVOKED = ScanOutcome.INVALID, ScanOutcome.REVOKED

# What the door shows for a ticket's tier: a seated tier's zone name, else its type.
TIER_LABEL = f"CASE WHEN tt.tier_type = '{TierType.SEATED}' THEN tt.zone_name END"

# One scan, decided and recorded in one statement (one round trip, one implicit
# transaction, so no lock outlives it):
#   $1 scan id, $2 concert id, $3 ticket id (NULL when the code didn't verify),
#   $4 the code's key version, $5 gate, $6 device, $7 staff id (NULL: a trusted caller),
#   $8 the outcome already decided from the code alone (INVALID, WRONG_EVENT) or NULL,
#   $9 what an offline device answered (NULL online), $10 when a device scanned it (NULL: now)
#
# * `allowed`: the caller is the concert's organizer or its door staff; otherwise nothing is
#   written and the service refuses.
# * `prior`: a scan id seen before answers what it was answered then, and writes nothing.
# * `live` locks the live ticket FOR SHARE: a transfer or a cancel (both UPDATE the ticket to
#   revoke it) either commits first, and the lock's re-check then finds the ticket revoked,
#   or waits the few milliseconds until this entry is in.
# * `entry`: the admission goes in once; the checkins primary key (booking, admission) is the
#   guard, ON CONFLICT DO NOTHING the answer to losing it. A concurrent winner committed after
#   this statement's snapshot is not in `first`: the service then runs the statement again,
#   which finds this scan in `prior` and the winner in `first`.
# * The gate's count comes from checkins' (concert_id, gate) index (ix_checkins_concert_id_gate);
#   this statement's own entry isn't visible to it, hence the + the entry's count.
SCAN_SQL = f"""
WITH concert AS (
    SELECT c.ticket_key_version AS key_version, c.timezone,
           ($7::uuid IS NULL OR c.organizer_id = $7 OR EXISTS (
               SELECT 1 FROM checkin_staff s WHERE s.concert_id = c.id AND s.user_id = $7
           )) AS allowed
      FROM concerts c WHERE c.id = $2
),
prior AS (
    SELECT p.outcome, p.concert_id, p.ticket_id FROM checkin_scans p WHERE p.scan_id = $1
),
ticket AS (
    SELECT t.id, t.booking_id, t.admission, t.seat, t.revoked_reason, t.holder_name,
           u.email AS holder_email, tt.tier_type, {TIER_LABEL} AS zone_name
      FROM tickets t
      JOIN ticket_tiers tt ON tt.id = t.tier_id
      JOIN users u ON u.id = t.holder_id
     WHERE t.id = $3 AND t.concert_id = $2
),
live AS MATERIALIZED (
    SELECT t.id, t.booking_id, t.admission FROM tickets t
     WHERE t.id = $3 AND t.concert_id = $2 AND t.revoked_at IS NULL AND $8::text IS NULL
       AND EXISTS (SELECT 1 FROM concert c WHERE c.allowed AND c.key_version = $4::int)
       AND NOT EXISTS (SELECT 1 FROM prior)
       FOR SHARE OF t
),
entry AS (
    INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate, scan_id, staff_id,
                          admitted_at)
    SELECT l.booking_id, l.admission, l.id, $2, $5, $1, $7, least(coalesce($10, now()), now())
      FROM live l
    ON CONFLICT (booking_id, admission) DO NOTHING
    RETURNING 1
),
decided AS (
    SELECT CASE
        WHEN $8::text IS NOT NULL THEN $8::text
        WHEN NOT EXISTS (SELECT 1 FROM ticket) THEN '{INVALID}'
        WHEN $4::int > c.key_version THEN '{INVALID}'
        WHEN $4::int < c.key_version THEN '{REVOKED}'
        WHEN EXISTS (SELECT 1 FROM entry) THEN '{ADMIT}'
        WHEN NOT EXISTS (SELECT 1 FROM live) THEN '{REVOKED}'
        ELSE '{ALREADY_USED}'
    END AS outcome
      FROM concert c
),
recorded AS (
    INSERT INTO checkin_scans (scan_id, concert_id, ticket_id, gate, device, staff_id, outcome,
                               offline_outcome, scanned_at)
    SELECT $1, $2, (SELECT id FROM ticket), $5, $6, $7, d.outcome, $9,
           least(coalesce($10, now()), now())
      FROM decided d, concert c
     WHERE c.allowed AND NOT EXISTS (SELECT 1 FROM prior)
    ON CONFLICT (scan_id) DO NOTHING
    RETURNING outcome
)
SELECT c.allowed, c.timezone, c.key_version,
       (SELECT outcome FROM recorded) AS outcome,
       p.outcome AS prior_outcome,
       p.concert_id AS prior_concert_id,
       p.ticket_id AS prior_ticket_id,
       t.id AS ticket_id, t.seat, t.revoked_reason, t.holder_name, t.holder_email,
       t.tier_type, t.zone_name,
       f.gate AS first_gate, f.admitted_at AS first_at, f.device AS first_device,
       (SELECT count(*) FROM checkins g WHERE g.concert_id = $2 AND g.gate = $5)::int
       + (SELECT count(*) FROM entry)::int AS gate_count
  FROM concert c
  LEFT JOIN prior p ON true
  LEFT JOIN ticket t ON true
  LEFT JOIN LATERAL (
      SELECT ch.gate, ch.admitted_at, fs.device FROM checkins ch
        LEFT JOIN checkin_scans fs ON fs.scan_id = ch.scan_id
       WHERE ch.booking_id = t.booking_id AND ch.admission = t.admission
  ) f ON true
"""

# Whether the caller may scan a concert's tickets: NULL for no such concert, else whether they
# are its organizer or door staff.   $1 user id, $2 concert id
MAY_SCAN_SQL = """
SELECT c.organizer_id = $1 OR EXISTS (
           SELECT 1 FROM checkin_staff s WHERE s.concert_id = c.id AND s.user_id = $1
       ) AS allowed
  FROM concerts c WHERE c.id = $2
"""

# The concerts an account may scan, for /checkin: those it is door staff or organizer of,
# upcoming or started within the last $2 hours (staff open the list after the doors open).
#   $1 user id, $2 hours
SCANNABLE_CONCERTS_SQL = """
SELECT c.id, c.name, c.artist, c.venue, c.starts_at, c.timezone
  FROM concerts c
 WHERE c.starts_at >= now() - make_interval(hours => $2::int)
   AND (c.organizer_id = $1 OR EXISTS (
           SELECT 1 FROM checkin_staff s WHERE s.concert_id = c.id AND s.user_id = $1
       ))
 ORDER BY c.starts_at, c.id
"""

# -- the offline bundle: what a scanner needs to decide alone ---------------------------------

CONCERT_SQL = """
SELECT id, name, starts_at, timezone, ticket_key_version, organizer_id FROM concerts WHERE id = $1
"""

# The concert's live tickets, with what door staff see (ix_tickets_concert_id).
LIVE_TICKETS_SQL = f"""
SELECT t.id, t.booking_id, t.admission, t.seat, t.holder_name, u.email AS holder_email,
       tt.tier_type, {TIER_LABEL} AS zone_name
  FROM tickets t
  JOIN ticket_tiers tt ON tt.id = t.tier_id
  JOIN users u ON u.id = t.holder_id
 WHERE t.concert_id = $1 AND t.revoked_at IS NULL
 ORDER BY t.seat, t.id
"""

REVOKED_TICKETS_SQL = """
SELECT t.id FROM tickets t WHERE t.concert_id = $1 AND t.revoked_at IS NOT NULL ORDER BY t.id
"""

# Admissions already in, under the live ticket that now carries each (a transfer moves it).
ADMITTED_SQL = """
SELECT t.id AS ticket_id, ch.booking_id, ch.admission, ch.gate, ch.admitted_at
  FROM checkins ch
  JOIN tickets t ON t.booking_id = ch.booking_id AND t.admission = ch.admission
                AND t.revoked_at IS NULL
 WHERE ch.concert_id = $1
 ORDER BY ch.admitted_at
"""

# Admitted per gate (ix_checkins_concert_id_gate).
GATE_COUNTS_SQL = """
SELECT gate, count(*)::int AS admitted FROM checkins WHERE concert_id = $1
 GROUP BY gate ORDER BY gate
"""

# Conflicts: scans a device admitted offline that the server refused: ALREADY_USED (another
# entry had let the admission in: across devices the first synced wins, so that entry can be
# later than this scan), REVOKED (cancelled, or transferred before the device's bundle knew)
# or INVALID. Each with the admission's entry, when there is one, and the device that made it.
#   $1 concert id
CONFLICTS_SQL = f"""
SELECT s.scan_id, s.outcome, scanned.booking_id, scanned.admission,
       coalesce(ch.ticket_id, scanned.id) AS ticket_id, t.seat, t.holder_name,
       u.email AS holder_email,
       ch.gate AS first_gate, ch.admitted_at AS first_at, fs.device AS first_device,
       s.gate, s.scanned_at, s.device
  FROM checkin_scans s
  LEFT JOIN tickets scanned ON scanned.id = s.ticket_id
  LEFT JOIN checkins ch ON ch.booking_id = scanned.booking_id
                       AND ch.admission = scanned.admission
  LEFT JOIN tickets t ON t.id = coalesce(ch.ticket_id, scanned.id)
  LEFT JOIN users u ON u.id = t.holder_id
  LEFT JOIN checkin_scans fs ON fs.scan_id = ch.scan_id
 WHERE s.concert_id = $1 AND s.offline_outcome = '{ADMIT}'
   AND s.outcome IN ('{ALREADY_USED}', '{REVOKED}', '{INVALID}')
 ORDER BY ch.admitted_at NULLS LAST, scanned.booking_id, scanned.admission, s.scanned_at
"""

# -- door staff ---------------------------------------------------------------------------

# An account (not a guest) by its normalized email.
ACCOUNT_SQL = f"SELECT id, email FROM users WHERE email = $1 AND role <> '{Role.GUEST}'"

# $1 concert id, $2 user id, $3 granted by (NULL: the operator's command). Granting twice
# keeps the first grant.
GRANT_SQL = """
INSERT INTO checkin_staff (concert_id, user_id, granted_by) VALUES ($1, $2, $3)
ON CONFLICT (concert_id, user_id) DO NOTHING
"""

STAFF_SQL = """
SELECT s.user_id, u.email, s.created_at, s.granted_by
  FROM checkin_staff s JOIN users u ON u.id = s.user_id
 WHERE s.concert_id = $1
 ORDER BY u.email
"""

STAFF_MEMBER_SQL = """
SELECT s.user_id, u.email, s.created_at, s.granted_by
  FROM checkin_staff s JOIN users u ON u.id = s.user_id
 WHERE s.concert_id = $1 AND s.user_id = $2
"""

REVOKE_SQL = """
DELETE FROM checkin_staff s USING users u
 WHERE s.concert_id = $1 AND s.user_id = $2 AND u.id = s.user_id
RETURNING s.user_id, u.email, s.created_at, s.granted_by
"""
