"""idempotency keys remember a booking's outcome, not an HTTP answer

The booking engine answers with typed outcomes and the edges render them, so a key now
stores the outcome, the booking as it settled and the payment's failure reason; a replay is
rendered from those by the same mapper that rendered the first answer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as they were when this revision was written (a migration never imports code
# that may change later).
OUTCOMES = (
    "confirmed",
    "declined",
    "expired",
    "sold_out",
    "concert_over",
    "ticket_cap",
    "unknown_tier",
)
OUTCOME_CHECK = "outcome IN ({})".format(", ".join(f"'{o}'" for o in OUTCOMES))

# What each old answer meant (response_status NULL: still in flight).
BACKFILL_SQL = r"""
UPDATE idempotency_keys
   SET outcome = CASE
           WHEN response_status = 200 THEN 'confirmed'
           WHEN response_status = 402 AND response_body #>> '{booking,status}' = 'EXPIRED'
                THEN 'expired'
           WHEN response_status = 402 THEN 'declined'
           WHEN response_status = 404 THEN 'unknown_tier'
           WHEN response_body ->> 'error' = 'CONCERT_STARTED' THEN 'concert_over'
           WHEN response_body ->> 'error' = 'TICKET_LIMIT_REACHED' THEN 'ticket_cap'
           ELSE 'sold_out' END,
       booking_snapshot = response_body -> 'booking',
       failure_reason = substring(response_body ->> 'message' FROM '^Payment failed \((.*)\);')
 WHERE response_status IS NOT NULL
"""

# The answers as revision 0002's code rendered them.
RESTORE_SQL = """
UPDATE idempotency_keys
   SET response_status = CASE outcome WHEN 'confirmed' THEN 200
                                      WHEN 'declined' THEN 402 WHEN 'expired' THEN 402
                                      WHEN 'unknown_tier' THEN 404 ELSE 409 END,
       response_body = CASE
           WHEN outcome IN ('confirmed', 'declined', 'expired') THEN jsonb_build_object(
               'success', outcome = 'confirmed',
               'booking', booking_snapshot,
               'message', CASE outcome
                   WHEN 'confirmed' THEN 'Booking confirmed'
                   WHEN 'declined' THEN 'Payment failed (' || coalesce(failure_reason, 'declined')
                        || '); your tickets were released. Try again with a new idempotency key.'
                   ELSE 'Your hold expired before the payment completed; any charge was '
                        'refunded.' END)
           ELSE jsonb_build_object(
               'success', false,
               'error', CASE outcome WHEN 'unknown_tier' THEN 'TIER_NOT_FOUND'
                                     WHEN 'concert_over' THEN 'CONCERT_STARTED'
                                     WHEN 'ticket_cap' THEN 'TICKET_LIMIT_REACHED'
                                     ELSE 'NOT_ENOUGH_TICKETS' END,
               'message', CASE outcome
                   WHEN 'unknown_tier' THEN 'Ticket tier not found'
                   WHEN 'concert_over' THEN 'This concert has already started; tickets are '
                                            'off sale'
                   WHEN 'ticket_cap' THEN 'You can hold at most 10 tickets for one concert'
                   ELSE 'Not enough tickets left in this tier' END) END
 WHERE outcome IS NOT NULL
"""


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("outcome", sa.Text(), nullable=True))
    op.add_column(
        "idempotency_keys",
        sa.Column("booking_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("idempotency_keys", sa.Column("failure_reason", sa.Text(), nullable=True))
    op.execute(BACKFILL_SQL)
    op.drop_constraint(op.f("ck_idempotency_keys_status_http"), "idempotency_keys", type_="check")
    op.drop_column("idempotency_keys", "response_status")
    op.drop_column("idempotency_keys", "response_body")
    op.create_check_constraint(
        op.f("ck_idempotency_keys_outcome_valid"), "idempotency_keys", OUTCOME_CHECK
    )


def downgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("response_status", sa.Integer(), nullable=True))
    op.add_column(
        "idempotency_keys",
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_idempotency_keys_status_http"),
        "idempotency_keys",
        "response_status IS NULL OR response_status BETWEEN 200 AND 599",
    )
    op.execute(RESTORE_SQL)
    op.drop_constraint(op.f("ck_idempotency_keys_outcome_valid"), "idempotency_keys", type_="check")
    op.drop_column("idempotency_keys", "failure_reason")
    op.drop_column("idempotency_keys", "booking_snapshot")
    op.drop_column("idempotency_keys", "outcome")
