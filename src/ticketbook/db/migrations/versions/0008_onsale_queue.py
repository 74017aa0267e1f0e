"""onsales and queue_entries: a concert's on-sale, its waiting room and the random draw

`onsales` keeps each protected on-sale's opening time, admission rate and window, the draw's
secret seed (drawn once when the on-sale is set, with its SHA-256, public from the start)
and, once drawn, the count of early joiners, their join ids in drawn order (the public record's
snapshot) and the admission frontier's base. `queue_entries` holds one place per identity and
concert (the primary key), with the fan's anonymised join id and the position the draw (or a
later arrival's join) gave it. docs/queue.md.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:06:31
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onsales",
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column(
            "admission_window_s", sa.Integer(), server_default=sa.text("600"), nullable=False
        ),
        sa.Column("seed", sa.LargeBinary(), nullable=False),
        sa.Column("seed_hash", sa.LargeBinary(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("early_count", sa.Integer(), nullable=True),
        sa.Column("draw_order", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("next_position", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("rate_base_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_base_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
        sa.CheckConstraint(
            "(drawn_at IS NULL) = (early_count IS NULL) AND (drawn_at IS NULL) = "
            "(rate_base_at IS NULL)",
            name=op.f("ck_onsales_draw_complete"),
        ),
        sa.CheckConstraint(
            "admission_window_s BETWEEN 60 AND 86400", name=op.f("ck_onsales_window_range")
        ),
        sa.CheckConstraint(
            "(drawn_at IS NULL) = (draw_order IS NULL) AND "
            "(draw_order IS NULL OR cardinality(draw_order) = early_count)",
            name=op.f("ck_onsales_order_recorded"),
        ),
        sa.CheckConstraint(
            "early_count IS NULL OR early_count >= 0", name=op.f("ck_onsales_early_not_negative")
        ),
        sa.CheckConstraint("next_position >= 1", name=op.f("ck_onsales_next_position_positive")),
        sa.CheckConstraint("octet_length(seed) = 32", name=op.f("ck_onsales_seed_length")),
        sa.CheckConstraint(
            "rate_base_count >= 0 AND rate_base_count <= next_position",
            name=op.f("ck_onsales_base_in_range"),
        ),
        sa.CheckConstraint("rate_per_minute > 0", name=op.f("ck_onsales_rate_positive")),
        sa.CheckConstraint("seed_hash = sha256(seed)", name=op.f("ck_onsales_seed_hash_matches")),
        sa.ForeignKeyConstraint(
            ["concert_id"],
            ["concerts.id"],
            name=op.f("fk_onsales_concert_id_concerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concert_id", name=op.f("pk_onsales")),
    )
    op.create_table(
        "queue_entries",
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("join_id", sa.Text(), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("early", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "join_id ~ '^[0-9a-f]{16}$'", name=op.f("ck_queue_entries_join_id_format")
        ),
        sa.CheckConstraint(
            "admitted_at IS NULL OR position IS NOT NULL",
            name=op.f("ck_queue_entries_admitted_in_order"),
        ),
        sa.CheckConstraint(
            "early OR position IS NOT NULL", name=op.f("ck_queue_entries_late_has_position")
        ),
        sa.CheckConstraint(
            "position IS NULL OR position >= 1", name=op.f("ck_queue_entries_position_positive")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"],
            ["onsales.concert_id"],
            name=op.f("fk_queue_entries_concert_id_onsales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concert_id", "user_id", name=op.f("pk_queue_entries")),
        sa.UniqueConstraint(
            "concert_id", "join_id", name=op.f("uq_queue_entries_concert_id_join_id")
        ),
        sa.UniqueConstraint(
            "concert_id", "position", name=op.f("uq_queue_entries_concert_id_position")
        ),
    )
    op.create_index("ix_queue_entries_user_id", "queue_entries", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_queue_entries_user_id", table_name="queue_entries")
    op.drop_table("queue_entries")
    op.drop_table("onsales")
