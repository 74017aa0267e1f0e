"""reserved seating: venue layouts, one row per seat per concert, and seated tiers

A seated tier (`tier_type = 'SEATED'`) is one price zone of its concert's layout; its stock
row counts its free seats, so the conservation law, the per-fan cap and the live counts stay
as they are for general admission. `concert_seats` is the concert's copy of its layout, one
row per seat, and `booking_id` is who holds the seat: one column, so a seat has at most one
holder at a time. Two triggers make the rest of "a seat is sold once" the database's:

* `tb_guard_seat_holder`: a claimed seat can only be released (holder back to NULL), never
  handed from one booking to another, whatever the statement;
* `tb_guard_live_holder`: a booking can't stop being live (PENDING, CONFIRMED) while it
  still holds seats; the statement that fails, expires or cancels it must release them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as they were when this revision was written.
OUTCOMES_BEFORE = (
    "confirmed",
    "declined",
    "expired",
    "sold_out",
    "concert_over",
    "ticket_cap",
    "unknown_tier",
)
OUTCOMES = (*OUTCOMES_BEFORE, "seat_taken", "not_together", "unknown_seat", "not_seated")
TIER_TYPES_BEFORE = ("VIP", "FRONT_ROW", "GA")
TIER_TYPES = (*TIER_TYPES_BEFORE, "SEATED")


def _in(column: str, values: Sequence[str]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


GUARD_SEAT_HOLDER = """
CREATE FUNCTION tb_guard_seat_holder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seat % of concert % is held by booking %, not free for booking %',
        OLD.code, OLD.concert_id, OLD.booking_id, NEW.booking_id
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'concert_seats_one_holder';
END
$$
"""

# Best available: lock the first of the candidate blocks (row, first position, in rank order)
# whose every seat is free and not locked by another statement, and return its seats'
# ordinals (NULL when none). Only that block's seats stay locked, plus the few of a block it
# could not complete: a hold never takes more than it may use, so concurrent holds in one zone
# go to different blocks instead of finding all of theirs locked.
LOCK_BLOCK = """
CREATE FUNCTION tb_lock_block(p_tier uuid, p_seats integer, p_rows integer[],
                              p_firsts integer[]) RETURNS integer[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    got integer[];
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_rows), 0) LOOP
        SELECT array_agg(ordinal ORDER BY ordinal) INTO got
          FROM (SELECT s.ordinal FROM concert_seats s
                 WHERE s.tier_id = p_tier AND s.booking_id IS NULL AND s.row_no = p_rows[i]
                   AND s.position BETWEEN p_firsts[i] AND p_firsts[i] + p_seats - 1
                 ORDER BY s.ordinal
                   FOR UPDATE SKIP LOCKED) block;
        IF cardinality(got) = p_seats THEN
            RETURN got;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$
"""

GUARD_LIVE_HOLDER = """
CREATE FUNCTION tb_guard_live_holder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An AFTER trigger runs once the whole statement is done, so the release in the same
    -- statement (a CTE beside the status change) is visible here.
    IF EXISTS (SELECT FROM concert_seats WHERE booking_id = NEW.id) THEN
        RAISE EXCEPTION 'booking % is % but still holds seats', NEW.id, NEW.status
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'concert_seats_live_holder';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "venue_layouts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organizer_id", sa.UUID(), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seat_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
            "length(name) BETWEEN 1 AND 200", name=op.f("ck_venue_layouts_name_length")
        ),
        sa.CheckConstraint("seat_count > 0", name=op.f("ck_venue_layouts_has_seats")),
        sa.CheckConstraint("version > 0", name=op.f("ck_venue_layouts_version_positive")),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_venue_layouts_organizer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_layouts")),
    )
    op.add_column("concerts", sa.Column("layout_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_concerts_layout_id_venue_layouts"),
        "concerts",
        "venue_layouts",
        ["layout_id"],
        ["id"],
    )

    op.add_column("ticket_tiers", sa.Column("zone", sa.Text(), nullable=True))
    op.add_column("ticket_tiers", sa.Column("zone_name", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_ticket_tiers_tier_type_valid"), "ticket_tiers", type_="check")
    op.create_check_constraint(
        op.f("ck_ticket_tiers_tier_type_valid"), "ticket_tiers", _in("tier_type", TIER_TYPES)
    )
    op.create_check_constraint(
        op.f("ck_ticket_tiers_seated_has_zone"),
        "ticket_tiers",
        "(tier_type = 'SEATED') = (zone IS NOT NULL AND zone_name IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_ticket_tiers_seated_one_slot"),
        "ticket_tiers",
        "tier_type <> 'SEATED' OR stock_slots = 1",
    )
    op.drop_constraint(op.f("uq_ticket_tiers_concert_id_tier_type"), "ticket_tiers", type_="unique")
    op.create_index(
        "uq_ticket_tiers_concert_id_tier_type",
        "ticket_tiers",
        ["concert_id", "tier_type"],
        unique=True,
        postgresql_where=sa.text("zone IS NULL"),
    )
    op.create_index(
        "uq_ticket_tiers_concert_id_zone",
        "ticket_tiers",
        ["concert_id", "zone"],
        unique=True,
        postgresql_where=sa.text("zone IS NOT NULL"),
    )

    op.add_column("bookings", sa.Column("seats", postgresql.ARRAY(sa.Text()), nullable=True))
    op.create_check_constraint(
        op.f("ck_bookings_seats_match"),
        "bookings",
        "seats IS NULL OR cardinality(seats) = quantity",
    )
    op.drop_constraint(op.f("ck_idempotency_keys_outcome_valid"), "idempotency_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_idempotency_keys_outcome_valid"), "idempotency_keys", _in("outcome", OUTCOMES)
    )

    op.create_table(
        "concert_seats",
        sa.Column("concert_id", sa.UUID(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("ordinal >= 0", name=op.f("ck_concert_seats_ordinal_not_negative")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_concert_seats_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_concert_seats_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["concert_id"],
            ["concerts.id"],
            name=op.f("fk_concert_seats_concert_id_concerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["ticket_tiers.id"],
            name=op.f("fk_concert_seats_tier_id_ticket_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("concert_id", "ordinal", name=op.f("pk_concert_seats")),
        sa.UniqueConstraint("concert_id", "code", name=op.f("uq_concert_seats_concert_id_code")),
    )
    op.create_index(
        "ix_concert_seats_free",
        "concert_seats",
        ["tier_id", "row_no", "position"],
        postgresql_where=sa.text("booking_id IS NULL"),
    )
    op.create_index(
        "ix_concert_seats_booking_id",
        "concert_seats",
        ["booking_id"],
        postgresql_where=sa.text("booking_id IS NOT NULL"),
    )
    op.execute(GUARD_SEAT_HOLDER)
    op.execute(
        "CREATE TRIGGER tb_guard_seat_holder BEFORE UPDATE OF booking_id ON concert_seats"
        " FOR EACH ROW WHEN (OLD.booking_id IS NOT NULL AND NEW.booking_id IS NOT NULL"
        " AND NEW.booking_id <> OLD.booking_id) EXECUTE FUNCTION tb_guard_seat_holder()"
    )
    op.execute(LOCK_BLOCK)
    op.execute(GUARD_LIVE_HOLDER)
    op.execute(
        "CREATE TRIGGER tb_guard_live_holder AFTER UPDATE OF status ON bookings"
        " FOR EACH ROW WHEN (NEW.seats IS NOT NULL AND NEW.status NOT IN ('PENDING', 'CONFIRMED'))"
        " EXECUTE FUNCTION tb_guard_live_holder()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER tb_guard_live_holder ON bookings")
    op.execute("DROP FUNCTION tb_guard_live_holder()")
    op.execute("DROP FUNCTION tb_lock_block(uuid, integer, integer[], integer[])")
    op.drop_table("concert_seats")
    op.execute("DROP FUNCTION tb_guard_seat_holder()")
    op.execute(
        "DELETE FROM idempotency_keys WHERE " + _in("outcome", OUTCOMES[len(OUTCOMES_BEFORE) :])
    )
    op.drop_constraint(op.f("ck_idempotency_keys_outcome_valid"), "idempotency_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_idempotency_keys_outcome_valid"),
        "idempotency_keys",
        _in("outcome", OUTCOMES_BEFORE),
    )
    op.drop_constraint(op.f("ck_bookings_seats_match"), "bookings", type_="check")
    op.drop_column("bookings", "seats")
    op.drop_index("uq_ticket_tiers_concert_id_zone", table_name="ticket_tiers")
    op.drop_index("uq_ticket_tiers_concert_id_tier_type", table_name="ticket_tiers")
    op.drop_constraint(op.f("ck_ticket_tiers_seated_one_slot"), "ticket_tiers", type_="check")
    op.drop_constraint(op.f("ck_ticket_tiers_seated_has_zone"), "ticket_tiers", type_="check")
    op.drop_constraint(op.f("ck_ticket_tiers_tier_type_valid"), "ticket_tiers", type_="check")
    op.create_check_constraint(
        op.f("ck_ticket_tiers_tier_type_valid"), "ticket_tiers", _in("tier_type", TIER_TYPES_BEFORE)
    )
    op.drop_column("ticket_tiers", "zone_name")
    op.drop_column("ticket_tiers", "zone")
    op.create_unique_constraint(
        op.f("uq_ticket_tiers_concert_id_tier_type"), "ticket_tiers", ["concert_id", "tier_type"]
    )
    op.drop_constraint(op.f("fk_concerts_layout_id_venue_layouts"), "concerts", type_="foreignkey")
    op.drop_column("concerts", "layout_id")
    op.drop_table("venue_layouts")
