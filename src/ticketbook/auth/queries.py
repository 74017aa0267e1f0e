"""SQL for accounts: guests, accounts, roles and sign-in sessions.
Roles are interpolated from their enum (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import BookingStatus, Role

GUEST = Role.GUEST
PENDING, CONFIRMED = BookingStatus.PENDING, BookingStatus.CONFIRMED

# -- guests --------------------------------------------------------------------------------

# A new guest: a users row with no credentials; the id comes from gen_random_uuid().
INSERT_GUEST_SQL = f"INSERT INTO users (role) VALUES ('{GUEST}') RETURNING id"

# The guest row for a page session's server-issued id, made at its first booking; a second
# call (or a race of two first bookings) finds it there and does nothing.
ENSURE_GUEST_SQL = (
    f"INSERT INTO users (id, role) VALUES ($1, '{GUEST}') ON CONFLICT (id) DO NOTHING"
)

# Whether a page session's guest has its row already (one primary-key lookup).
GUEST_EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)"

# -- accounts ------------------------------------------------------------------------------

# A new account; uq_users_email refuses a second one for the same (normalized) email.
#   $1 role, $2 email, $3 password hash
INSERT_ACCOUNT_SQL = """
INSERT INTO users (role, email, password_hash) VALUES ($1, $2, $3) RETURNING id
"""

# Sign-in: the account an email names (served by uq_users_email).
FIND_ACCOUNT_SQL = "SELECT id, role, email, password_hash FROM users WHERE email = $1"

# Give an existing account (never a guest) a role; no row when there is no such account.
#   $1 email, $2 role
SET_ROLE_SQL = f"UPDATE users SET role = $2 WHERE email = $1 AND role <> '{GUEST}' RETURNING id"

# -- a guest's bookings move into an account (one transaction, in this order) -------------

# Lock the guest row first: a hold in flight for the guest holds a key-share lock on it, so
# we wait for it and see its booking too; a later one waits for us.
LOCK_GUEST_SQL = f"SELECT id FROM users WHERE id = $1 AND role = '{GUEST}' FOR UPDATE"
# The guest's bookings, oldest first; live ones hold tickets and count against the cap.
GUEST_BOOKINGS_SQL = f"""
SELECT id, concert_id, quantity, status IN ('{PENDING}', '{CONFIRMED}') AS live
  FROM bookings
 WHERE user_id = $1
 ORDER BY created_at, id
"""
# The account's tickets for one concert, under the hold statement's per-(user, concert) lock
# (migration 0002), which this transaction then keeps until it commits.
#   $1 account id, $2 concert id
TICKETS_HELD_SQL = "SELECT tb_tickets_held($1, $2)"
# Their tickets go along (those the guest still holds: a ticket given away stays given).
# $1 guest id, $2 account id, $3 the ids of the bookings that move.
MOVE_BOOKINGS_SQL = """
WITH tickets_moved AS (
    UPDATE tickets SET holder_id = $2 WHERE holder_id = $1 AND booking_id = ANY($3::uuid[])
)
UPDATE bookings SET user_id = $2, updated_at = now() WHERE user_id = $1 AND id = ANY($3::uuid[])
"""
# The keys of the bookings that move go along, so a retried request still finds its answer;
# keys of refused requests (no booking) go too when the guest goes ($4). The keys of bookings
# that stay with the guest stay. A key the account has used itself already keeps the
# account's answer: the guest's row for it is dropped (its booking moves all the same, and
# still carries the key in bookings.idempotency_key), so UNIQUE (user_id, key) holds, even
# against a hold by the account that claims the key while this runs.
#   $1 guest id, $2 account id, $3 the ids of the bookings that move, $4 the guest goes
MOVE_KEYS_SQL = """
WITH moving AS (
    DELETE FROM idempotency_keys
     WHERE user_id = $1
       AND (booking_id = ANY($3::uuid[]) OR (booking_id IS NULL AND $4::boolean))
 RETURNING key, fingerprint, booking_id, outcome, booking_snapshot, failure_reason,
           created_at, completed_at
)
INSERT INTO idempotency_keys (user_id, key, fingerprint, booking_id, outcome, booking_snapshot,
                              failure_reason, created_at, completed_at)
SELECT $2, key, fingerprint, booking_id, outcome, booking_snapshot, failure_reason, created_at,
       completed_at
  FROM moving
    ON CONFLICT (user_id, key) DO NOTHING
"""
# Then the guest goes (when nothing stayed with it), so its stateless token reaches nothing.
DELETE_GUEST_SQL = f"DELETE FROM users WHERE id = $1 AND role = '{GUEST}'"

# -- sign-in sessions ----------------------------------------------------------------------

# A new session; only the token's SHA-256 is stored.
#   $1 user id, $2 token hash, $3 kind, $4 lifetime in seconds
OPEN_SESSION_SQL = """
INSERT INTO auth_sessions (user_id, token_hash, kind, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4))
"""

# The identity of a live session of one kind. Served by uq_auth_sessions_token_hash.
#   $1 token hash, $2 kind
RESOLVE_SESSION_SQL = """
SELECT s.id, s.user_id, u.role, u.email
  FROM auth_sessions s
  JOIN users u ON u.id = s.user_id
 WHERE s.token_hash = $1 AND s.kind = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
"""

# Sign out: a revoked session is refused from then on; revoking twice changes nothing.
REVOKE_SESSION_SQL = (
    "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
)
