"""accounts, sessions, organizers, rate limits, the per-fan ticket cap

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tickets a fan holds or owns for one concert, read inside the hold (booking/queries.py). The
# advisory lock serializes one fan's holds on one concert; PL/pgSQL runs the SELECT with a
# fresh snapshot taken after the lock (READ COMMITTED, VOLATILE), so it sees the hold that
# committed while we waited. Nothing else takes this lock, so it cannot join a deadlock.
TICKETS_HELD_FUNCTION = """
CREATE FUNCTION tb_tickets_held(p_user uuid, p_concert uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held integer;
BEGIN
    PERFORM pg_advisory_xact_lock(7243, hashtext(p_user::text || p_concert::text));
    SELECT coalesce(sum(quantity), 0)::integer INTO held
      FROM bookings
     WHERE user_id = p_user AND concert_id = p_concert AND status IN ('PENDING', 'CONFIRMED');
    RETURN held;
END
$$
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("password_hash", sa.Text(), nullable=True))
    # Before accounts every user was an anonymous guest, whatever its role said: without
    # credentials it can only be one now.
    op.execute("UPDATE users SET role = 'guest' WHERE role <> 'guest'")
    op.create_check_constraint(
        "account_has_credentials",
        "users",
        "(role = 'guest') = (email IS NULL) AND (email IS NULL) = (password_hash IS NULL)",
    )
    op.create_check_constraint(
        "email_normalized", "users", "email = lower(email) AND length(email) BETWEEN 3 AND 254"
    )
    op.create_unique_constraint(op.f("uq_users_email"), "users", ["email"])

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('api', 'page')", name=op.f("ck_auth_sessions_kind_valid")),
        sa.CheckConstraint(
            "length(token_hash) = 32", name=op.f("ck_auth_sessions_token_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"], unique=False)

    op.create_table(
        "rate_limit_buckets",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.CheckConstraint("hits >= 0", name=op.f("ck_rate_limit_buckets_hits_not_negative")),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_limit_buckets")),
        prefixes=["UNLOGGED"],
    )

    op.add_column("concerts", sa.Column("organizer_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_concerts_organizer_id_users"), "concerts", "users", ["organizer_id"], ["id"]
    )
    op.create_index("ix_concerts_organizer_id", "concerts", ["organizer_id"], unique=False)

    op.create_index(
        "ix_bookings_live_user_id_concert_id",
        "bookings",
        ["user_id", "concert_id"],
        unique=False,
        postgresql_include=["quantity"],
        postgresql_where=sa.text("status IN ('PENDING', 'CONFIRMED')"),
    )
    op.execute(TICKETS_HELD_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION tb_tickets_held(uuid, uuid)")
    op.drop_index("ix_bookings_live_user_id_concert_id", table_name="bookings")
    op.drop_index("ix_concerts_organizer_id", table_name="concerts")
    op.drop_constraint(op.f("fk_concerts_organizer_id_users"), "concerts", type_="foreignkey")
    op.drop_column("concerts", "organizer_id")
    op.drop_table("rate_limit_buckets")
    op.drop_index("ix_auth_sessions_user_id", table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_constraint(op.f("uq_users_email"), "users", type_="unique")
    op.drop_constraint("email_normalized", "users", type_="check")
    op.drop_constraint("account_has_credentials", "users", type_="check")
    op.drop_column("users", "password_hash")
    op.drop_column("users", "email")
