"""tickets: one per admission of a confirmed booking, the door's check-ins, staff, transfers
and the mail outbox

Two triggers on `bookings` make issuing and revoking tickets the database's, in the statement
that changes the booking, whatever the application does:

* `tb_issue_tickets`: a booking that becomes CONFIRMED gets one ticket per admission (its
  n-th seat for admission n when seated), held by its fan, and, when the fan has an email
  address, a confirmation in the outbox;
* `tb_revoke_tickets`: a booking that stops being CONFIRMED (a cancel) revokes its tickets.

`checkins` is keyed by (booking, admission), so an admission enters once whichever ticket
(before or after a transfer) carries it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:57:26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ISSUE_TICKETS = """
CREATE FUNCTION tb_issue_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tickets (booking_id, concert_id, tier_id, admission, seat, holder_id)
    SELECT NEW.id, NEW.concert_id, NEW.tier_id, n, NEW.seats[n], NEW.user_id
      FROM generate_series(1, NEW.quantity) AS n;
    INSERT INTO email_outbox (kind, to_address, booking_id)
    SELECT 'booking_confirmed', u.email, NEW.id FROM users u
     WHERE u.id = NEW.user_id AND u.email IS NOT NULL;
    RETURN NULL;
END
$$
"""

BACKFILL_TICKETS = """
INSERT INTO tickets (booking_id, concert_id, tier_id, admission, seat, holder_id)
SELECT b.id, b.concert_id, b.tier_id, n, b.seats[n], b.user_id
  FROM bookings b CROSS JOIN LATERAL generate_series(1, b.quantity) AS n
 WHERE b.status = 'CONFIRMED'
"""

REVOKE_TICKETS = """
CREATE FUNCTION tb_revoke_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET revoked_at = now(), revoked_reason = 'cancelled'
     WHERE booking_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "checkin_staff",
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("granted_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"],
            ["concerts.id"],
            name=op.f("fk_checkin_staff_concert_id_concerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_checkin_staff_granted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_checkin_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concert_id", "user_id", name=op.f("pk_checkin_staff")),
    )
    op.create_index("ix_checkin_staff_user_id", "checkin_staff", ["user_id"], unique=False)
    op.create_table(
        "tickets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("admission", sa.SmallInteger(), nullable=False),
        sa.Column("seat", sa.Text(), nullable=True),
        sa.Column("holder_id", sa.UUID(), nullable=False),
        sa.Column("holder_name", sa.Text(), nullable=True),
        sa.Column("transferred_from", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_reason IS NULL) AND (revoked_reason IS NULL OR "
            "revoked_reason IN ('cancelled', 'transferred'))",
            name=op.f("ck_tickets_revocation_valid"),
        ),
        sa.CheckConstraint("admission BETWEEN 1 AND 10", name=op.f("ck_tickets_admission_range")),
        sa.CheckConstraint(
            "holder_name IS NULL OR length(holder_name) BETWEEN 1 AND 100",
            name=op.f("ck_tickets_holder_name_length"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_tickets_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_tickets_concert_id_concerts")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_tickets_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"], ["ticket_tiers.id"], name=op.f("fk_tickets_tier_id_ticket_tiers")
        ),
        sa.ForeignKeyConstraint(
            ["transferred_from"], ["tickets.id"], name=op.f("fk_tickets_transferred_from_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_booking_id", "tickets", ["booking_id"], unique=False)
    op.create_index("ix_tickets_concert_id", "tickets", ["concert_id"], unique=False)
    op.create_index("ix_tickets_holder_id", "tickets", ["holder_id"], unique=False)
    op.create_index("uq_tickets_transferred_from", "tickets", ["transferred_from"], unique=True)
    op.create_index(
        "uq_tickets_live_admission",
        "tickets",
        ["booking_id", "admission"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "checkin_scans",
        sa.Column("scan_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("gate", sa.Text(), nullable=False),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("offline_outcome", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IN ('ADMIT', 'ALREADY_USED', 'REVOKED', 'INVALID', 'WRONG_EVENT')",
            name=op.f("ck_checkin_scans_outcome_valid"),
        ),
        sa.CheckConstraint(
            "length(gate) BETWEEN 1 AND 64", name=op.f("ck_checkin_scans_gate_length")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_checkin_scans_concert_id_concerts")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["users.id"], name=op.f("fk_checkin_scans_staff_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_checkin_scans_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_checkin_scans")),
    )
    op.create_index(
        "ix_checkin_scans_concert_id_gate", "checkin_scans", ["concert_id", "gate"], unique=False
    )
    op.create_index("ix_checkin_scans_ticket_id", "checkin_scans", ["ticket_id"], unique=False)
    op.create_table(
        "checkins",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("admission", sa.SmallInteger(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("gate", sa.Text(), nullable=False),
        sa.Column("scan_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column(
            "admitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_checkins_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_checkins_concert_id_concerts")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["users.id"], name=op.f("fk_checkins_staff_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_checkins_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("booking_id", "admission", name=op.f("pk_checkins")),
    )
    op.create_index("ix_checkins_concert_id_gate", "checkins", ["concert_id", "gate"], unique=False)
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('booking_confirmed', 'ticket_transferred')",
            name=op.f("ck_email_outbox_kind_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_email_outbox_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_email_outbox_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_email_outbox_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    op.create_index(
        "ix_email_outbox_unsent_next_attempt_at",
        "email_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "ticket_transfers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("from_ticket_id", sa.UUID(), nullable=False),
        sa.Column("to_ticket_id", sa.UUID(), nullable=False),
        sa.Column("from_user_id", sa.UUID(), nullable=False),
        sa.Column("to_user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_ticket_transfers_concert_id_concerts")
        ),
        sa.ForeignKeyConstraint(
            ["from_ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_transfers_from_ticket_id_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.id"], name=op.f("fk_ticket_transfers_from_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["to_ticket_id"], ["tickets.id"], name=op.f("fk_ticket_transfers_to_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"], ["users.id"], name=op.f("fk_ticket_transfers_to_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_transfers")),
    )
    op.create_index(
        "ix_ticket_transfers_concert_id", "ticket_transfers", ["concert_id"], unique=False
    )
    op.create_index(
        "ix_ticket_transfers_from_user_id", "ticket_transfers", ["from_user_id"], unique=False
    )
    op.create_index(
        "uq_ticket_transfers_to_ticket_id", "ticket_transfers", ["to_ticket_id"], unique=True
    )
    op.add_column(
        "concerts",
        sa.Column(
            "ticket_key_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_concerts_ticket_key_version_positive"), "concerts", "ticket_key_version > 0"
    )
    op.execute(ISSUE_TICKETS)
    op.execute(
        "CREATE TRIGGER tb_issue_tickets AFTER UPDATE OF status ON bookings"
        " FOR EACH ROW WHEN (OLD.status <> 'CONFIRMED' AND NEW.status = 'CONFIRMED')"
        " EXECUTE FUNCTION tb_issue_tickets()"
    )
    # A booking written confirmed (a data fill, an import) gets its tickets too.
    op.execute(
        "CREATE TRIGGER tb_issue_tickets_on_insert AFTER INSERT ON bookings"
        " FOR EACH ROW WHEN (NEW.status = 'CONFIRMED') EXECUTE FUNCTION tb_issue_tickets()"
    )
    op.execute(REVOKE_TICKETS)
    op.execute(
        "CREATE TRIGGER tb_revoke_tickets AFTER UPDATE OF status ON bookings"
        " FOR EACH ROW WHEN (OLD.status = 'CONFIRMED' AND NEW.status <> 'CONFIRMED')"
        " EXECUTE FUNCTION tb_revoke_tickets()"
    )
    # Bookings confirmed before this migration get their tickets too (no mail: they were
    # told long ago), so every confirmed booking has one per admission (`doctor` checks).
    op.execute(BACKFILL_TICKETS)


def downgrade() -> None:
    op.execute("DROP TRIGGER tb_revoke_tickets ON bookings")
    op.execute("DROP FUNCTION tb_revoke_tickets()")
    op.execute("DROP TRIGGER tb_issue_tickets_on_insert ON bookings")
    op.execute("DROP TRIGGER tb_issue_tickets ON bookings")
    op.execute("DROP FUNCTION tb_issue_tickets()")
    op.drop_constraint(op.f("ck_concerts_ticket_key_version_positive"), "concerts", type_="check")
    op.drop_column("concerts", "ticket_key_version")
    op.drop_index("uq_ticket_transfers_to_ticket_id", table_name="ticket_transfers")
    op.drop_index("ix_ticket_transfers_from_user_id", table_name="ticket_transfers")
    op.drop_index("ix_ticket_transfers_concert_id", table_name="ticket_transfers")
    op.drop_table("ticket_transfers")
    op.drop_index(
        "ix_email_outbox_unsent_next_attempt_at",
        table_name="email_outbox",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.drop_table("email_outbox")
    op.drop_index("ix_checkins_concert_id_gate", table_name="checkins")
    op.drop_table("checkins")
    op.drop_index("ix_checkin_scans_ticket_id", table_name="checkin_scans")
    op.drop_index("ix_checkin_scans_concert_id_gate", table_name="checkin_scans")
    op.drop_table("checkin_scans")
    op.drop_index(
        "uq_tickets_live_admission",
        table_name="tickets",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.drop_index("uq_tickets_transferred_from", table_name="tickets")
    op.drop_index("ix_tickets_holder_id", table_name="tickets")
    op.drop_index("ix_tickets_concert_id", table_name="tickets")
    op.drop_index("ix_tickets_booking_id", table_name="tickets")
    op.drop_table("tickets")
    op.drop_index("ix_checkin_staff_user_id", table_name="checkin_staff")
    op.drop_table("checkin_staff")
