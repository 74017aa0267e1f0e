"""SQL for reserved seats: the seated holds (the booking hold of queries.py, choosing and
claiming seats as it takes stock), and the reads for the seat map and for alternatives.

A seated tier's stock row counts its free seats (one row, no split: migration 0006). A hold
locks the seats it takes before that row, so the lock order is buckets, the fan's lock,
seats, stock; releases (settle, cancel, reaper) only touch seats their booking holds, which
no hold waits on except a hold naming that very seat.
"""

from __future__ import annotations

from ticketbook.booking.outcomes import BookingOutcome as Outcome
from ticketbook.booking.queries import CONTENDED, hold_statement
from ticketbook.domain.enums import BookingStatus

# How many of the best blocks a best-available hold tries, best first, until one has every
# seat free and unlocked: concurrent holds for the same zone end up in different blocks
# instead of queueing for the best one.
CANDIDATE_BLOCKS = 16

# The zone's stock row, after the seats: a seated tier has one slot.
_STOCK_TAKE = """
), taken AS (
    UPDATE tier_stock s
       SET available = s.available - $2
     WHERE s.tier_id = $1 AND s.slot = 0 AND s.available >= $2
       AND (SELECT count(*) FROM chosen) = $2
 RETURNING s.slot
"""

# Seats named by code ($13 text[]): locked in seat order (waiting at most for the statement
# that has one locked; seat rows are locked only inside statements), each seen as it is now.
NAMED_TAKE = (
    """
), wanted AS (
    SELECT s.ordinal, s.code, s.booking_id
      FROM concert_seats s
     WHERE s.concert_id = (SELECT concert_id FROM allowed) AND s.tier_id = $1
       AND s.code = ANY ($13::text[])
     ORDER BY s.ordinal
       FOR UPDATE
), chosen AS (
    SELECT ordinal, code FROM wanted
     WHERE cardinality($13::text[]) = $2
       AND (SELECT count(*) FROM wanted WHERE booking_id IS NULL) = $2"""
    + _STOCK_TAKE
)

# The seats named, as they are now (looked up by concert and code: the unique index).
_NAMED = """(SELECT * FROM concert_seats
           WHERE concert_id = (SELECT concert_id FROM tier_state) AND tier_id = $1
             AND code = ANY ($13::text[]))"""

# Why there is no booking, for named seats: a code not of this zone, a seat sold, a seat only
# held by a payment in flight (the engine waits for it, like "all held").
NAMED_REFUSALS = f"""
                WHEN NOT s.seated THEN '{Outcome.NOT_SEATED}'
                WHEN (SELECT count(*) FROM {_NAMED} n) <> $2 THEN '{Outcome.UNKNOWN_SEAT}'
                WHEN EXISTS (SELECT FROM {_NAMED} n JOIN bookings p ON p.id = n.booking_id
                              WHERE p.status = '{BookingStatus.CONFIRMED}')
                     THEN '{Outcome.SEAT_TAKEN}'
                WHEN EXISTS (SELECT FROM {_NAMED} n WHERE n.booking_id IS NOT NULL)
                     THEN '{Outcome.ALL_HELD}'
"""
NAMED_TAKEN_SEATS = (
    "CASE WHEN o.refusal IS NOT NULL THEN (SELECT array_agg(n.code ORDER BY n.ordinal)"
    f" FROM {_NAMED} n WHERE n.booking_id IS NOT NULL) END"
)

# Best available ($2 seats side by side in the zone, or in its section $13 text, or NULL):
#   placed      the zone's free seats as this statement's snapshot sees them, each as the
#               first seat of a block of $2 side by side (if the seats after it are free),
#               and whether that block would leave a single free seat alone beside it;
#   candidates  the best CANDIDATE_BLOCKS blocks: first those that leave no single seat
#               alone, then closest to the stage (mean distance of the block's seats);
#   block       tb_lock_block (migration 0006) locks the seats of the first candidate whose
#               every seat is free now and not locked by another hold (SKIP LOCKED: never a
#               wait; a seat taken since the snapshot counts as missing);
#   chosen      those seats.
BEST_TAKE = (
    f"""
), placed AS (
    -- In one pass over the zone's free seats in seat order: a block starts at each free
    -- seat that has $2 - 1 free seats right after it; lag and lead say whether the seats
    -- beside the block are free (the neighbour's position is one off) and whether the one
    -- beyond that is, i.e. whether the block would leave a single seat alone.
    SELECT s.row_no, s.position AS first,
           count(*) OVER block AS seats, avg(s.distance) OVER block AS distance,
           (lag(s.position) OVER seat_order = s.position - 1
            AND lag(s.position, 2) OVER seat_order IS DISTINCT FROM s.position - 2)
           OR (lead(s.position, $2) OVER seat_order = s.position + $2
               AND lead(s.position, $2 + 1) OVER seat_order IS DISTINCT FROM s.position + $2 + 1)
           AS leaves_one
      FROM concert_seats s
     WHERE s.tier_id = $1 AND s.booking_id IS NULL AND ($13::text IS NULL OR s.section = $13)
       AND EXISTS (SELECT FROM allowed)
    WINDOW seat_order AS (PARTITION BY s.row_no ORDER BY s.position),
           block AS (seat_order RANGE BETWEEN CURRENT ROW AND $2 - 1 FOLLOWING)
), candidates AS (
    SELECT row_no, first,
           row_number() OVER (ORDER BY coalesce(leaves_one, false), distance, row_no, first)
           AS rank
      FROM placed
     WHERE seats = $2
     ORDER BY rank
     LIMIT {CANDIDATE_BLOCKS}
), block AS (
    -- Volatile: run once (the CTE is not inlined), after the candidates are known.
    SELECT tb_lock_block($1, $2, ARRAY(SELECT row_no FROM candidates ORDER BY rank),
                         ARRAY(SELECT first FROM candidates ORDER BY rank)) AS ordinals
), chosen AS (
    SELECT s.ordinal, s.code
      FROM concert_seats s, block
     WHERE s.concert_id = (SELECT concert_id FROM allowed) AND s.ordinal = ANY (block.ordinals)"""
    + _STOCK_TAKE
)

# Why there is no booking, best available: blocks there were, but others held them locked
# (look again at once); enough seats free, but not side by side.
BEST_REFUSALS = f"""
                WHEN NOT s.seated THEN '{Outcome.NOT_SEATED}'
                WHEN EXISTS (SELECT FROM candidates) THEN '{CONTENDED}'
                WHEN s.available >= $2 THEN '{Outcome.NOT_TOGETHER}'
"""

# The seats go to the booking in the statement that made it.
_CLAIM = """
), claimed AS (
    UPDATE concert_seats s
       SET booking_id = b.id
      FROM booking b
     WHERE s.concert_id = b.concert_id
       AND s.ordinal = ANY (ARRAY(SELECT ordinal FROM chosen))
"""
_SEATS = "(SELECT array_agg(code ORDER BY ordinal) FROM chosen)"

NAMED_HOLD_SQL = hold_statement(
    NAMED_TAKE,
    seated=True,
    seats=_SEATS,
    claim=_CLAIM,
    refusals=NAMED_REFUSALS,
    taken_seats=NAMED_TAKEN_SEATS,
)
BEST_HOLD_SQL = hold_statement(
    BEST_TAKE,
    seated=True,
    seats=_SEATS,
    claim=_CLAIM,
    refusals=BEST_REFUSALS,
    contended="NOT EXISTS (SELECT FROM chosen) AND EXISTS (SELECT FROM candidates)",
)

# -- reads ---------------------------------------------------------------------------------

# Whether a tier sells seats ($1 tier id): NULL when there is no such tier.
TIER_IS_SEATED_SQL = "SELECT zone IS NOT NULL FROM ticket_tiers WHERE id = $1"

# The nearest blocks of $2 free seats side by side to the seats asked for ($3 codes), in
# tier $1: by the distance of the block's middle seat from the middle of those asked for.
ALTERNATIVES_SQL = """
WITH asked AS (
    SELECT avg(s.row_no)::float8 AS row_no, avg(s.position)::float8 AS position,
           min(s.section) AS section
      FROM concert_seats s JOIN ticket_tiers t ON t.id = $1
     WHERE s.concert_id = t.concert_id AND s.tier_id = $1 AND s.code = ANY ($3::text[])
), free AS (
    SELECT s.ordinal, s.code, s.section, s.row_no, s.position,
           s.position - row_number() OVER (PARTITION BY s.row_no ORDER BY s.position) AS run
      FROM concert_seats s
     WHERE s.tier_id = $1 AND s.booking_id IS NULL
), blocks AS (
    SELECT f.section, f.row_no, f.position AS first,
           count(*) OVER block AS seats,
           array_agg(f.code) OVER block AS codes
      FROM free f
    WINDOW block AS (PARTITION BY f.row_no, f.run ORDER BY f.position
                     ROWS BETWEEN CURRENT ROW AND $2 - 1 FOLLOWING)
)
SELECT b.codes
  FROM blocks b, asked a
 WHERE b.seats = $2
 ORDER BY (b.section IS DISTINCT FROM a.section),
          abs(b.row_no - a.row_no) * 4 + abs(b.first + ($2 - 1) / 2.0 - a.position)
 LIMIT $4
"""

# Every seat's state for the map, in ordinal order ($1 concert): 0 free, 1 held by a
# payment in flight, 2 sold (seating/states.py's encoding); no row for an unknown concert,
# NULL states for one without seats.
SEAT_STATES_SQL = f"""
WITH pending AS (
    -- Holds in flight are few at any time (the partial index holds only those).
    SELECT id FROM bookings WHERE status = '{BookingStatus.PENDING}' AND concert_id = $1
)
SELECT l.version AS layout_version, l.seat_count,
       (SELECT string_agg(CASE WHEN s.booking_id IS NULL THEN '0'
                               WHEN s.booking_id IN (SELECT id FROM pending) THEN '1'
                               ELSE '2' END, '' ORDER BY s.ordinal)
          FROM concert_seats s
         WHERE s.concert_id = c.id) AS states
  FROM concerts c LEFT JOIN venue_layouts l ON l.id = c.layout_id
 WHERE c.id = $1
"""

# Which of the seats asked for ($2 codes) are held or sold now, in tier $1.
TAKEN_OF_SQL = """
SELECT array_agg(s.code ORDER BY s.ordinal)
  FROM concert_seats s JOIN ticket_tiers t ON t.id = $1
 WHERE s.concert_id = t.concert_id AND s.tier_id = $1 AND s.code = ANY ($2::text[])
   AND s.booking_id IS NOT NULL
"""
