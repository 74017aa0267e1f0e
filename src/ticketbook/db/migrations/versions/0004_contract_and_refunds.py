"""the brief's contract fields, the venue's time zone, and the refund outbox

- concerts: `updated_at`, `timezone` (IANA; existing concerts get 'UTC');
- ticket_tiers: `created_at`, `updated_at`;
- bookings: `idempotency_key`, the key the client sent (existing bookings get theirs from
  idempotency_keys), and the booking snapshots keys remember gain it and `updatedAt` (the
  booking's creation time for answers given before), so old answers still replay;
- refunds: money owed back, retried until the provider answers. Existing payments that were
  captured for a booking that is not confirmed and never marked refunded are owed now.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:15:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


BACKFILL_BOOKING_KEYS_SQL = """
UPDATE bookings b SET idempotency_key = k.key
  FROM idempotency_keys k
 WHERE k.booking_id = b.id
"""

SNAPSHOT_FIELDS_SQL = """
UPDATE idempotency_keys
   SET booking_snapshot = booking_snapshot
       || jsonb_build_object('idempotencyKey', key,
                             'updatedAt', coalesce(booking_snapshot -> 'updatedAt',
                                                   booking_snapshot -> 'createdAt'))
 WHERE booking_snapshot IS NOT NULL
"""

# Captured and kept although the booking is not confirmed: owed back.
BACKFILL_OWED_REFUNDS_SQL = """
INSERT INTO refunds (payment_id, booking_id, concert_id, amount_cents, status)
SELECT p.id, p.booking_id, p.concert_id, p.amount_cents, 'PENDING'
  FROM payments p
  JOIN bookings b ON b.id = p.booking_id
 WHERE p.status IN ('SUCCEEDED', 'TIMEOUT') AND b.status <> 'CONFIRMED' AND p.amount_cents > 0
"""


def upgrade() -> None:
    op.add_column("concerts", _timestamp("updated_at"))
    op.add_column(
        "concerts",
        sa.Column("timezone", sa.Text(), server_default=sa.text("'UTC'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_concerts_timezone_length"), "concerts", "length(timezone) BETWEEN 1 AND 64"
    )
    op.add_column("ticket_tiers", _timestamp("created_at"))
    op.add_column("ticket_tiers", _timestamp("updated_at"))
    op.add_column("bookings", sa.Column("idempotency_key", sa.UUID(), nullable=True))
    op.execute(BACKFILL_BOOKING_KEYS_SQL)
    op.execute(SNAPSHOT_FIELDS_SQL)

    op.create_table(
        "refunds",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _timestamp("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DONE', 'NOTHING_CAPTURED')",
            name=op.f("ck_refunds_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_refunds_attempts_not_negative")),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_refunds_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_refunds_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_refunds_concert_id_concerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_refunds_payment_id")),
    )
    op.create_index(
        "ix_refunds_pending_next_attempt_at",
        "refunds",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index("ix_refunds_booking_id", "refunds", ["booking_id"], unique=False)
    op.execute(BACKFILL_OWED_REFUNDS_SQL)


def downgrade() -> None:
    op.drop_index("ix_refunds_booking_id", table_name="refunds")
    op.drop_index("ix_refunds_pending_next_attempt_at", table_name="refunds")
    op.drop_table("refunds")
    op.execute(
        "UPDATE idempotency_keys SET booking_snapshot = booking_snapshot - 'idempotencyKey'"
        " - 'updatedAt' WHERE booking_snapshot IS NOT NULL"
    )
    op.drop_column("bookings", "idempotency_key")
    op.drop_column("ticket_tiers", "updated_at")
    op.drop_column("ticket_tiers", "created_at")
    op.drop_constraint(op.f("ck_concerts_timezone_length"), "concerts", type_="check")
    op.drop_column("concerts", "timezone")
    op.drop_column("concerts", "updated_at")
