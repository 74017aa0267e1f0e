"""SQL for the booking flow. Each step is one statement, so the tier row's lock lasts one
statement and a booking costs two round trips on the happy path (hold, settle).
Statuses and outcomes are interpolated from their enums (our own constants, never input)."""

from __future__ import annotations

from ticketbook.booking.outcomes import BookingOutcome as Outcome
from ticketbook.domain.enums import BookingStatus, PaymentStatus, RefundStatus
from ticketbook.ratelimit.queries import count_sql

PENDING, CONFIRMED = BookingStatus.PENDING, BookingStatus.CONFIRMED
FAILED, EXPIRED, CANCELLED = BookingStatus.FAILED, BookingStatus.EXPIRED, BookingStatus.CANCELLED
PAYMENT_PENDING = PaymentStatus.PENDING
REFUND_PENDING = RefundStatus.PENDING
# The hold's refusal when the request is over a rate limit: not a booking outcome (nothing
# was tried), so never stored with the key; the engine raises RateLimited for it.
RATE_LIMITED = "rate_limited"
# Refusals of the hold that are no answer either, so never stored with the key: a general-
# admission hold asked of a seated tier (the engine asks again for its best seats), and a
# best-available hold that found every fitting block locked by other holds (it looks again).
SEATED_TIER = "seated"
CONTENDED = "contended"
NOT_ANSWERS = (Outcome.ALL_HELD.value, RATE_LIMITED, SEATED_TIER, CONTENDED)
NOT_ANSWERS_SQL = ", ".join(f"'{r}'" for r in NOT_ANSWERS)
RATE_COUNT_SQL = count_sql("$10", "$11")

# The columns every booking read returns, in the shape `booking_wire` expects.
BOOKING_COLUMNS = """
    b.id, b.user_id, b.concert_id, c.name AS concert_name, b.tier_id, t.tier_type,
    b.quantity, b.unit_price_cents, b.total_cents, b.currency, b.status, b.idempotency_key,
    b.hold_expires_at, b.created_at, b.updated_at, b.seats
"""

# "My bookings" also carry their concert and tier (the brief's BookingWithDetails).
DETAIL_COLUMNS = """
    c.artist, c.venue, c.description, c.starts_at, c.timezone,
    c.created_at AS concert_created_at, c.updated_at AS concert_updated_at,
    t.price_cents, t.currency AS tier_currency, t.total_quantity, t.available_quantity,
    t.zone, t.zone_name, t.created_at AS tier_created_at, t.updated_at AS tier_updated_at
"""

# Where a booking's tickets go back when it does not stand (failed, expired, cancelled): a
# slot chosen by its id, so returns spread like holds. Slots are never deleted, so a slot
# count read before a re-split still names a slot that exists.
RETURN_SLOT = "mod(abs(hashtext(b.id::text)::bigint), t.stock_slots)"

# Hold: take the tickets, create the PENDING booking and its payment attempt, and claim the
# idempotency key, all in one atomic statement. A duplicate key raises unique_violation,
# which undoes the whole statement, tickets included.
# A tier's free tickets are its `tier_stock` rows (migration 0005; one unless an operator
# split the tier, booking/stock.py). HOLD_SQL takes them from one row: a one-row tier's, as
# a counter always did (the UPDATE waits for the row's lock and re-checks the count after
# the wait, so two holds can never both take the last ticket); a split tier's from any slot
# with enough that no other statement has locked (SKIP LOCKED: holds on one tier don't
# queue behind each other). When every such slot is locked, it answers `contended` and the
# engine runs LOCKED_HOLD_SQL, which locks every slot in slot order, waiting, and takes what
# it needs across them: "sold out" is only said once every slot's latest count was seen.
# Two statements, because a statement that skipped locked rows may still hold locks on
# rows it looked at, and locking the rest in order after that could deadlock.
# The per-fan cap is checked by tb_tickets_held (migration 0002) before any stock is locked:
# it serializes one fan's holds on one concert and counts what that fan holds with a fresh
# snapshot, inside this statement.
# A refused hold stores its outcome with the key at once; a made one leaves it NULL (in flight).
#   $1 tier id, $2 quantity, $3 user id, $4 idempotency key, $5 request fingerprint,
#   $6 hold seconds, $7 our payment key, $8 the most tickets one user may hold for one concert,
#   $9 how long a payment may take at most (the engine's backstop), in seconds,
#   $10 the rate-limit buckets this request counts in, $11 their windows in seconds, $12
#   their limits (empty arrays: count nothing, as a retry of the same request does)
# The rate limit is counted here, not in a statement of its own: one round trip and one
# commit less per booking. Its buckets are locked first (the gate on `allowed` reads them
# before anything else is touched), in name order, so the lock order is always buckets, the
# fan's lock, then stock. Over a limit, nothing is held and the key is not claimed.
_HOLD_TEMPLATE = f"""
WITH counted AS (
{RATE_COUNT_SQL.strip()}
), limited AS (
    -- Seconds until the fullest bucket over its limit has room again; 0 when none is over.
    SELECT coalesce(max(c.remaining_s) FILTER (WHERE c.hits > k.rule_limit), 0)::float8
           AS retry_after_s
      FROM counted c
      JOIN unnest($10::text[], $12::int[]) AS k (bucket, rule_limit) USING (bucket)
), allowed AS (
    SELECT t.id, t.concert_id, t.tier_type, t.price_cents, t.currency, t.stock_slots
      FROM ticket_tiers t
      JOIN concerts c ON c.id = t.concert_id
     WHERE t.id = $1 AND c.starts_at > now() AND t.zone IS {{seated}}NULL
       AND (SELECT retry_after_s FROM limited) = 0
       AND tb_tickets_held($3, t.concert_id) <= $8::integer - $2::integer
{{take}}
), tier AS (
    SELECT * FROM allowed WHERE EXISTS (SELECT FROM taken)
), booking AS (
    INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, total_cents,
                          currency, status, idempotency_key, hold_expires_at, seats)
    SELECT $3, concert_id, id, $2, price_cents, price_cents * $2, currency, '{PENDING}', $4,
           now() + make_interval(secs => $6), {{seats}}
      FROM tier
 RETURNING id, user_id, concert_id, tier_id, quantity, unit_price_cents, total_cents, currency,
           status, idempotency_key, hold_expires_at, created_at, updated_at, seats
), payment AS (
    INSERT INTO payments (booking_id, concert_id, amount_cents, currency, provider_key, status)
    SELECT id, concert_id, total_cents, currency, $7, '{PAYMENT_PENDING}' FROM booking
 RETURNING id
{{claim}}), tier_state AS (
    SELECT t.id IS NOT NULL AS found, coalesce(c.starts_at <= now(), false) AS over,
           t.zone IS NOT NULL AS seated, t.concert_id, t.available_quantity AS available
      FROM (VALUES (1)) AS one (x)
      LEFT JOIN ticket_tiers t ON t.id = $1
      LEFT JOIN concerts c ON c.id = t.concert_id
), outcome AS (
    -- Why there is no booking, if there is none. The cap is asked again only then.
    SELECT booking.id AS booking_id,
           CASE WHEN booking.id IS NOT NULL THEN NULL
                WHEN (SELECT retry_after_s FROM limited) > 0 THEN '{RATE_LIMITED}'
                WHEN NOT s.found THEN '{Outcome.UNKNOWN_TIER}'
                WHEN s.over THEN '{Outcome.CONCERT_OVER}'
                WHEN tb_tickets_held($3, s.concert_id) > $8 - $2 THEN '{Outcome.TICKET_CAP}'
{{refusals}}
                -- Not enough free, but enough once the holds in flight settle: not final.
                WHEN s.available + (SELECT coalesce(sum(p.quantity), 0)::int FROM bookings p
                                     WHERE p.tier_id = $1 AND p.status = '{PENDING}') >= $2
                     THEN '{Outcome.ALL_HELD}'
                ELSE '{Outcome.SOLD_OUT}' END AS refusal
      FROM tier_state s LEFT JOIN booking ON true
), claim AS (
    -- The key remembers every answer but "all held", which the engine waits out, and the
    -- refusals that are no answer to the request (NOT_ANSWERS).
    INSERT INTO idempotency_keys (user_id, key, fingerprint, booking_id, outcome, completed_at)
    SELECT $3, $4, $5, o.booking_id, o.refusal, CASE WHEN o.booking_id IS NULL THEN now() END
      FROM outcome o
     WHERE o.refusal IS NULL OR o.refusal NOT IN ({NOT_ANSWERS_SQL})
)
SELECT b.id, b.user_id, b.concert_id, c.name AS concert_name, b.tier_id, tier.tier_type,
       b.quantity, b.unit_price_cents, b.total_cents, b.currency, b.status, b.idempotency_key,
       b.hold_expires_at, b.created_at, b.updated_at, b.seats,
       (SELECT id FROM payment) AS payment_id, o.refusal, {{contended}} AS contended,
       (SELECT retry_after_s FROM limited) AS retry_after_s, {{taken_seats}} AS taken_seats,
       -- For "all held" only (a CASE runs its subquery only then): how long until the holds
       -- in flight are past their payment's deadline ($9 s after they were made), and how
       -- long until the first of them expires.
       CASE WHEN o.refusal = '{Outcome.ALL_HELD}' THEN
           (SELECT extract(epoch FROM max(p.created_at) + make_interval(secs => $9) - now())::float8
              FROM bookings p WHERE p.tier_id = $1 AND p.status = '{PENDING}') END
           AS settled_within_s,
       CASE WHEN o.refusal = '{Outcome.ALL_HELD}' THEN
           (SELECT extract(epoch FROM min(p.hold_expires_at) - now())::float8
              FROM bookings p WHERE p.tier_id = $1 AND p.status = '{PENDING}') END
           AS first_expiry_s
  FROM outcome o
  LEFT JOIN booking b ON true
  LEFT JOIN tier ON true
  LEFT JOIN concerts c ON c.id = b.concert_id
"""

# The new counts are written as values, from what the locking read returned: an UPDATE of a
# row this statement already locked may compute `available - q` from the row as the
# statement's snapshot saw it, not as it is (tests/service/test_split_stock.py has the case).
ANY_SLOT_TAKE = """
), any_slot AS (
    SELECT s.slot, s.available
      FROM tier_stock s
     WHERE s.tier_id = $1 AND s.available >= $2 AND (SELECT stock_slots FROM allowed) > 1
     ORDER BY random()
     LIMIT 1
       FOR UPDATE SKIP LOCKED
), one_slot AS (
    -- No lock taken before it in this statement: the UPDATE waits for the row's lock and
    -- re-checks the count against the committed row, as a one-row counter always did.
    UPDATE tier_stock s
       SET available = s.available - $2
     WHERE s.tier_id = $1 AND s.available >= $2 AND (SELECT stock_slots FROM allowed) = 1
 RETURNING s.slot
), split_slot AS (
    UPDATE tier_stock s
       SET available = a.available - $2
      FROM any_slot a
     WHERE s.tier_id = $1 AND s.slot = a.slot
 RETURNING s.slot
), taken AS (
    SELECT slot FROM one_slot UNION ALL SELECT slot FROM split_slot
"""

EVERY_SLOT_TAKE = """
), every_slot AS (
    SELECT s.slot, s.available
      FROM tier_stock s
     WHERE s.tier_id = $1 AND EXISTS (SELECT FROM allowed)
       AND (SELECT sum(f.available) FROM tier_stock f WHERE f.tier_id = $1) >= $2
     ORDER BY s.slot
       FOR UPDATE
), taking AS (
    -- Across the locked slots, in slot order, until the quantity is met.
    SELECT slot, available - least(available, $2 - before) AS left_over
      FROM (SELECT slot, available,
                   coalesce(sum(available) OVER (ORDER BY slot ROWS BETWEEN UNBOUNDED
                                                 PRECEDING AND 1 PRECEDING), 0) AS before
              FROM every_slot) e
     WHERE before < $2 AND available > 0
       AND (SELECT sum(available) FROM every_slot) >= $2
), taken AS (
    UPDATE tier_stock s
       SET available = k.left_over
      FROM taking k
     WHERE s.tier_id = $1 AND s.slot = k.slot
 RETURNING s.slot
"""

# A split tier, nothing taken, though the snapshot shows enough: others had every slot
# with enough locked.
SPLIT_CONTENDED = (
    "NOT EXISTS (SELECT FROM taken) AND (SELECT stock_slots FROM allowed) > 1"
    " AND (SELECT sum(f.available) FROM tier_stock f WHERE f.tier_id = $1) >= $2"
)


def hold_statement(
    take: str,
    *,
    contended: str = "false",
    seated: bool = False,
    seats: str = "NULL::text[]",
    claim: str = "",
    refusals: str = "",
    taken_seats: str = "NULL::text[]",
) -> str:
    """The hold, with its way of taking stock (`take` defines the CTE `taken`). Seated holds
    (booking/seat_queries.py) also choose seats, claim them for the booking and say why not."""
    return _HOLD_TEMPLATE.format(
        take=take.strip("\n"),
        contended=contended,
        seated="NOT " if seated else "",
        seats=seats,
        claim=claim,
        refusals=refusals.strip("\n"),
        taken_seats=taken_seats,
    )


# General admission: a seated tier is refused as SEATED_TIER (its seats are chosen).
GA_REFUSALS = f"""
                WHEN s.seated THEN '{SEATED_TIER}'
"""
HOLD_SQL = hold_statement(ANY_SLOT_TAKE, contended=SPLIT_CONTENDED, refusals=GA_REFUSALS)
LOCKED_HOLD_SQL = hold_statement(EVERY_SLOT_TAKE, refusals=GA_REFUSALS)

# Settle: only a PENDING booking moves, so a settle can't run twice. Paid in time: CONFIRMED.
# Not paid: FAILED. Paid after the hold ran out: EXPIRED. Tickets of a booking that did not
# confirm go back in the same statement, the key remembers the outcome with the booking as
# it settled, and money that may have been taken for a booking that is not confirmed (paid,
# or timed out) is owed back in `refunds` — also when the reaper expired the hold first,
# reopening the reaper's refund if that one found nothing captured yet.
#   $1 booking id, $2 payment id, $3 paid, $4 payment status, $5 provider reference,
#   $6 failure reason, $7 the booking's wire shape (its status is filled in here)
SETTLE_SQL = f"""
WITH booking AS (
    UPDATE bookings
       SET status = CASE WHEN NOT $3 THEN '{FAILED}'
                         WHEN hold_expires_at > clock_timestamp() THEN '{CONFIRMED}'
                         ELSE '{EXPIRED}' END,
           updated_at = now()
     WHERE id = $1 AND status = '{PENDING}'
 RETURNING id, tier_id, quantity, status, updated_at
), released AS (
    UPDATE tier_stock s
       SET available = s.available + b.quantity
      FROM booking b JOIN ticket_tiers t ON t.id = b.tier_id
     WHERE s.tier_id = b.tier_id AND s.slot = {RETURN_SLOT} AND b.status <> '{CONFIRMED}'
), seats_back AS (
    UPDATE concert_seats s SET booking_id = NULL
      FROM booking b
     WHERE s.booking_id = b.id AND b.status <> '{CONFIRMED}'
), payment AS (
    UPDATE payments
       SET status = $4, provider_reference = $5, failure_reason = $6, updated_at = now()
     WHERE id = $2 AND status IN ('{PAYMENT_PENDING}', '{PaymentStatus.VOIDED}')
), answer AS (
    UPDATE idempotency_keys k
       SET outcome = CASE b.status WHEN '{CONFIRMED}' THEN '{Outcome.CONFIRMED}'
                                   WHEN '{FAILED}' THEN '{Outcome.DECLINED}'
                                   ELSE '{Outcome.EXPIRED}' END,
           booking_snapshot = $7::jsonb || jsonb_build_object('status', b.status,
                                                              'updatedAt', b.updated_at),
           failure_reason = CASE WHEN b.status = '{FAILED}' THEN $6 END,
           completed_at = now()
      FROM booking b
     WHERE k.booking_id = b.id
), owed AS (
    INSERT INTO refunds (payment_id, booking_id, concert_id, amount_cents, status)
    SELECT p.id, p.booking_id, p.concert_id, p.amount_cents, '{REFUND_PENDING}'
      FROM payments p
     WHERE p.id = $2 AND p.amount_cents > 0
       AND $4 IN ('{PaymentStatus.SUCCEEDED}', '{PaymentStatus.TIMEOUT}')
       AND NOT EXISTS (SELECT 1 FROM booking b WHERE b.status = '{CONFIRMED}')
        ON CONFLICT (payment_id) DO UPDATE
       SET status = '{REFUND_PENDING}', next_attempt_at = now(), completed_at = NULL
     WHERE refunds.status = '{RefundStatus.NOTHING_CAPTURED}'
 RETURNING id
)
-- One row, even when the reaper got there first (then status is NULL).
SELECT b.status, b.updated_at, (SELECT id FROM owed) AS refund_id
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN booking b ON true
"""

FIND_KEY_SQL = """
SELECT fingerprint, booking_id, outcome, booking_snapshot, failure_reason
  FROM idempotency_keys
 WHERE user_id = $1 AND key = $2
"""

# "My bookings": newest first, served by ix_bookings_user_id_created_at.
LIST_FOR_USER_SQL = f"""
SELECT {BOOKING_COLUMNS}, {DETAIL_COLUMNS}
  FROM bookings b
  JOIN ticket_tiers t ON t.id = b.tier_id
  JOIN concerts c ON c.id = b.concert_id
 WHERE b.user_id = $1
 ORDER BY b.created_at DESC
 LIMIT $2
"""

GET_BOOKING_SQL = f"""
SELECT {BOOKING_COLUMNS}, c.starts_at <= now() AS concert_started
  FROM bookings b
  JOIN ticket_tiers t ON t.id = b.tier_id
  JOIN concerts c ON c.id = b.concert_id
 WHERE b.id = $1
"""

# Cancel: only the owner's CONFIRMED booking of a concert that has not started; its tickets
# go back and what was paid is owed back (`refunds`), in the same statement.
CANCEL_SQL = f"""
WITH booking AS (
    UPDATE bookings b
       SET status = '{CANCELLED}', updated_at = now()
      FROM concerts c
     WHERE b.id = $1 AND b.user_id = $2 AND b.status = '{CONFIRMED}'
       AND c.id = b.concert_id AND c.starts_at > now()
 RETURNING b.id, b.tier_id, b.quantity
), released AS (
    UPDATE tier_stock s
       SET available = s.available + b.quantity
      FROM booking b JOIN ticket_tiers t ON t.id = b.tier_id
     WHERE s.tier_id = b.tier_id AND s.slot = {RETURN_SLOT}
), seats_back AS (
    UPDATE concert_seats s SET booking_id = NULL FROM booking b WHERE s.booking_id = b.id
), owed AS (
    INSERT INTO refunds (payment_id, booking_id, concert_id, amount_cents, status)
    SELECT p.id, p.booking_id, p.concert_id, p.amount_cents, '{REFUND_PENDING}'
      FROM booking b
      JOIN payments p ON p.booking_id = b.id AND p.status = '{PaymentStatus.SUCCEEDED}'
     WHERE p.amount_cents > 0
        ON CONFLICT (payment_id) DO NOTHING
 RETURNING id
)
SELECT b.id, (SELECT id FROM owed) AS refund_id FROM booking b
"""

# Reaper: expire a batch of holds past their time. SKIP LOCKED leaves rows that a settle is
# working on to that settle.
EXPIRE_HOLDS_SQL = f"""
WITH expired AS (
    SELECT id
      FROM bookings
     WHERE status = '{PENDING}' AND hold_expires_at <= now()
     ORDER BY hold_expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE bookings b
       SET status = '{EXPIRED}', updated_at = now()
      FROM expired e
     WHERE b.id = e.id
 RETURNING b.*
), released AS (
    -- A tier's tickets in this batch all go back to one of its slots, so the reaper holds at
    -- most one slot lock per tier and can't deadlock with a hold locking all of a tier's.
    UPDATE tier_stock s
       SET available = s.available + r.quantity
      FROM (SELECT b.tier_id, sum(b.quantity)::int AS quantity, min({RETURN_SLOT}) AS slot
              FROM moved b JOIN ticket_tiers t ON t.id = b.tier_id
             GROUP BY b.tier_id) r
     WHERE s.tier_id = r.tier_id AND s.slot = r.slot
), seats_back AS (
    UPDATE concert_seats s SET booking_id = NULL FROM moved b WHERE s.booking_id = b.id
), owed AS (
    -- The payment may have been captured just before its process died: ask for it back.
    INSERT INTO refunds (payment_id, booking_id, concert_id, amount_cents, status)
    SELECT p.id, p.booking_id, p.concert_id, p.amount_cents, '{REFUND_PENDING}'
      FROM moved b
      JOIN payments p ON p.booking_id = b.id AND p.status = '{PAYMENT_PENDING}'
     WHERE p.amount_cents > 0
        ON CONFLICT (payment_id) DO NOTHING
 RETURNING id, booking_id
)
SELECT {BOOKING_COLUMNS}, o.id AS refund_id
  FROM moved b
  JOIN ticket_tiers t ON t.id = b.tier_id
  JOIN concerts c ON c.id = b.concert_id
  LEFT JOIN owed o ON o.booking_id = b.id
"""

# The reaper answers the keys of the holds it expired: $1 booking id, $2 its wire shape.
ANSWER_EXPIRED_KEY_SQL = f"""
UPDATE idempotency_keys
   SET outcome = '{Outcome.EXPIRED}', booking_snapshot = $2::jsonb, completed_at = now()
 WHERE booking_id = $1 AND outcome IS NULL
"""

# -- refunds: owed money, asked back until the provider answers ---------------------------

# Claim refunds to ask for now: due ones (all of them, or $2 only), leased for $3 seconds
# so no other process asks at the same time; the provider call happens after this commits.
#   $1 how many, $2 one refund id or NULL, $3 the lease in seconds
CLAIM_REFUNDS_SQL = f"""
WITH due AS (
    SELECT id
      FROM refunds
     WHERE status = '{REFUND_PENDING}' AND next_attempt_at <= now()
       AND ($2::uuid IS NULL OR id = $2)
     ORDER BY next_attempt_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE refunds r
   SET attempts = r.attempts + 1, next_attempt_at = now() + make_interval(secs => $3)
  FROM due, payments p
 WHERE r.id = due.id AND p.id = r.payment_id
RETURNING r.id, r.payment_id, p.provider_key, r.attempts
"""

# The provider answered: $2 DONE (money back; the payment is REFUNDED) or NOTHING_CAPTURED
# (nothing was taken under that key; a payment still PENDING is VOIDED, a TIMEOUT stays one).
#   $1 refund id, $2 its final status, $3 the provider's reference
FINISH_REFUND_SQL = f"""
WITH refund AS (
    UPDATE refunds
       SET status = $2, completed_at = now(), last_error = NULL
     WHERE id = $1 AND status = '{REFUND_PENDING}'
 RETURNING payment_id
)
UPDATE payments p
   SET status = CASE WHEN $2 = '{RefundStatus.DONE}' THEN '{PaymentStatus.REFUNDED}'
                     WHEN p.status = '{PAYMENT_PENDING}' THEN '{PaymentStatus.VOIDED}'
                     ELSE p.status END,
       provider_reference = coalesce($3, p.provider_reference),
       updated_at = now()
  FROM refund
 WHERE p.id = refund.payment_id
"""

# The provider failed: try again later, backing off (2^attempts s, at most $3 s).
#   $1 refund id, $2 what went wrong, $3 the longest pause
RETRY_REFUND_SQL = f"""
UPDATE refunds
   SET last_error = $2,
       next_attempt_at = now() + make_interval(secs => least($3, power(2, attempts)))
 WHERE id = $1 AND status = '{REFUND_PENDING}'
"""
