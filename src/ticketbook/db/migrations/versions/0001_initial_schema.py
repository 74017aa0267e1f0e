"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 05:10:58.841362
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concerts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("artist", sa.Text(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_concerts_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concerts")),
    )
    op.create_index("ix_concerts_starts_at", "concerts", ["starts_at"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("role", sa.Text(), server_default=sa.text("'guest'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('guest', 'fan', 'organizer')", name=op.f("ck_users_role_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "ticket_tiers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("tier_type", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_quantity", sa.Integer(), nullable=False),
        sa.Column("available_quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_ticket_tiers_currency_iso")),
        sa.CheckConstraint(
            "tier_type IN ('VIP', 'FRONT_ROW', 'GA')", name=op.f("ck_ticket_tiers_tier_type_valid")
        ),
        sa.CheckConstraint(
            "available_quantity >= 0 AND available_quantity <= total_quantity",
            name=op.f("ck_ticket_tiers_available_within_total"),
        ),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_ticket_tiers_price_not_negative")),
        sa.CheckConstraint("total_quantity >= 0", name=op.f("ck_ticket_tiers_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["concert_id"],
            ["concerts.id"],
            name=op.f("fk_ticket_tiers_concert_id_concerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_tiers")),
        sa.UniqueConstraint(
            "concert_id", "tier_type", name=op.f("uq_ticket_tiers_concert_id_tier_type")
        ),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_bookings_currency_iso")),
        sa.CheckConstraint(
            "status IN ('PENDING', 'CONFIRMED', 'FAILED', 'EXPIRED', 'CANCELLED')",
            name=op.f("ck_bookings_status_valid"),
        ),
        sa.CheckConstraint("quantity BETWEEN 1 AND 10", name=op.f("ck_bookings_quantity_range")),
        sa.CheckConstraint(
            "total_cents = unit_price_cents * quantity", name=op.f("ck_bookings_total_matches")
        ),
        sa.CheckConstraint(
            "unit_price_cents >= 0", name=op.f("ck_bookings_unit_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_bookings_concert_id_concerts")
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"], ["ticket_tiers.id"], name=op.f("fk_bookings_tier_id_ticket_tiers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_bookings_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(
        "ix_bookings_pending_hold_expires_at",
        "bookings",
        ["hold_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index("ix_bookings_tier_id_status", "bookings", ["tier_id", "status"], unique=False)
    op.create_index(
        "ix_bookings_user_id_created_at",
        "bookings",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.UUID(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "response_status IS NULL OR response_status BETWEEN 200 AND 599",
            name=op.f("ck_idempotency_keys_status_http"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_idempotency_keys_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(
        "ix_idempotency_keys_booking_id", "idempotency_keys", ["booking_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_key", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("provider_reference", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payments_currency_iso")),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'DECLINED', 'TIMEOUT', 'ERROR', 'REFUNDED', "
            "'VOIDED')",
            name=op.f("ck_payments_status_valid"),
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_payments_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concerts.id"], name=op.f("fk_payments_concert_id_concerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider_key", name=op.f("uq_payments_provider_key")),
    )
    op.create_index("ix_payments_booking_id", "payments", ["booking_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payments_booking_id", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_idempotency_keys_booking_id", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_bookings_user_id_created_at", table_name="bookings")
    op.drop_index("ix_bookings_tier_id_status", table_name="bookings")
    op.drop_index(
        "ix_bookings_pending_hold_expires_at",
        table_name="bookings",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_table("bookings")
    op.drop_table("ticket_tiers")
    op.drop_table("users")
    op.drop_index("ix_concerts_starts_at", table_name="concerts")
    op.drop_table("concerts")
