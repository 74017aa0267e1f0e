"""SQL for accounts: guests, accounts, roles and sign-in sessions.
Roles are interpolated from their enum (our own constants, never input)."""

from __future__ import annotations

from ticketbook.domain.enums import Role

GUEST = Role.GUEST

# -- guests --------------------------------------------------------------------------------

# A new guest: a users row with no credentials; the id comes from gen_random_uuid().
INSERT_GUEST_SQL = f"INSERT INTO users (role) VALUES ('{GUEST}') RETURNING id"

# The guest row for a page session's server-issued id, made at its first booking; a second
# call (or a race of two first bookings) finds it there and does nothing.
ENSURE_GUEST_SQL = (
    f"INSERT INTO users (id, role) VALUES ($1, '{GUEST}') ON CONFLICT (id) DO NOTHING"
)

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

# -- a guest's bookings move into an account (one transaction, these four in order) --------

# Lock the guest row first: a hold in flight for the guest holds a key-share lock on it, so
# we wait for it and move its booking too; a later one fails its foreign key once we delete.
LOCK_GUEST_SQL = f"SELECT id FROM users WHERE id = $1 AND role = '{GUEST}' FOR UPDATE"
# $1 guest id, $2 account id.
MOVE_BOOKINGS_SQL = "UPDATE bookings SET user_id = $2, updated_at = now() WHERE user_id = $1"
# The keys go along, so a retried request still finds its answer.
MOVE_KEYS_SQL = "UPDATE idempotency_keys SET user_id = $2 WHERE user_id = $1"
# Then the guest goes, so its stateless token reaches nothing any more.
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
