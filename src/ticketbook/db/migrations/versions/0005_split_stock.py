"""split stock: a tier's free tickets live in `tier_stock` rows (slots), not in the tier row

One row's lock lets about a thousand holds a second through. A tier whose stock is spread
over k slots takes k holds at once: a hold takes from any unlocked slot with enough (SKIP
LOCKED) and locks every slot only when none has (booking/queries.py). Every tier has at least
one slot; `ticket_tiers.stock_slots` says how many a tier spreads over (`tb_split_stock`).

`ticket_tiers.available_quantity` becomes a function of the row, the sum of its slots, so
`t.available_quantity` reads as before. Slots are never deleted (a settle may still return
tickets to a slot a stale read chose), and a slot can't go below zero; the other half of the
old CHECK (no more free than the total) is the conservation law `ticketbook doctor` checks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 22:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVAILABLE_FUNCTION = """
CREATE FUNCTION available_quantity(t ticket_tiers) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(s.available), 0)::integer FROM tier_stock s WHERE s.tier_id = t.id
$$
"""


def spread(slot: str) -> str:
    """Slot i of k gets free / k tickets, the first free % k slots one more."""
    return f"p_free / p_slots + ({slot} < p_free % p_slots)::integer"


SEED_FUNCTION = f"""
CREATE FUNCTION tb_seed_stock() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p_free integer := NEW.total_quantity;
    p_slots integer := NEW.stock_slots;
BEGIN
    INSERT INTO tier_stock (tier_id, slot, available)
    SELECT NEW.id, g, {spread("g")} FROM generate_series(0, p_slots - 1) g;
    RETURN NULL;
END
$$
"""

# Re-spread a tier's free tickets over p_slots slots, under every slot's lock (in slot order,
# as the holds' locked pass takes them, so the two cannot deadlock).
SPLIT_FUNCTION = f"""
CREATE FUNCTION tb_split_stock(p_tier uuid, p_slots integer) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p_free integer;
BEGIN
    PERFORM 1 FROM ticket_tiers WHERE id = p_tier FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no ticket tier %', p_tier USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM 1 FROM tier_stock WHERE tier_id = p_tier ORDER BY slot FOR UPDATE;
    SELECT coalesce(sum(available), 0)::integer INTO p_free FROM tier_stock WHERE tier_id = p_tier;
    INSERT INTO tier_stock (tier_id, slot, available)
    SELECT p_tier, g, 0 FROM generate_series(0, p_slots - 1) g
        ON CONFLICT (tier_id, slot) DO NOTHING;
    UPDATE tier_stock
       SET available = CASE WHEN slot < p_slots THEN {spread("slot")} ELSE 0 END
     WHERE tier_id = p_tier;
    UPDATE ticket_tiers SET stock_slots = p_slots, updated_at = now() WHERE id = p_tier;
    RETURN p_free;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "ticket_tiers",
        sa.Column("stock_slots", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_ticket_tiers_stock_slots_range"), "ticket_tiers", "stock_slots BETWEEN 1 AND 64"
    )
    op.create_table(
        "tier_stock",
        sa.Column("tier_id", sa.UUID(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.CheckConstraint("available >= 0", name=op.f("ck_tier_stock_available_not_negative")),
        sa.CheckConstraint("slot >= 0", name=op.f("ck_tier_stock_slot_not_negative")),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["ticket_tiers.id"],
            name=op.f("fk_tier_stock_tier_id_ticket_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tier_id", "slot", name=op.f("pk_tier_stock")),
    )
    op.execute(
        "INSERT INTO tier_stock (tier_id, slot, available)"
        " SELECT id, 0, available_quantity FROM ticket_tiers"
    )
    op.drop_constraint(
        op.f("ck_ticket_tiers_available_within_total"), "ticket_tiers", type_="check"
    )
    op.drop_column("ticket_tiers", "available_quantity")
    op.execute(AVAILABLE_FUNCTION)
    op.execute(SEED_FUNCTION)
    op.execute(
        "CREATE TRIGGER tb_seed_stock AFTER INSERT ON ticket_tiers"
        " FOR EACH ROW EXECUTE FUNCTION tb_seed_stock()"
    )
    op.execute(SPLIT_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION tb_split_stock(uuid, integer)")
    op.execute("DROP TRIGGER tb_seed_stock ON ticket_tiers")
    op.execute("DROP FUNCTION tb_seed_stock()")
    op.execute("DROP FUNCTION available_quantity(ticket_tiers)")
    op.add_column(
        "ticket_tiers",
        sa.Column("available_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE ticket_tiers t SET available_quantity = s.free"
        "  FROM (SELECT tier_id, sum(available)::integer AS free FROM tier_stock"
        "         GROUP BY tier_id) s WHERE s.tier_id = t.id"
    )
    op.alter_column("ticket_tiers", "available_quantity", server_default=None)
    op.create_check_constraint(
        op.f("ck_ticket_tiers_available_within_total"),
        "ticket_tiers",
        "available_quantity >= 0 AND available_quantity <= total_quantity",
    )
    op.drop_table("tier_stock")
    op.drop_constraint(op.f("ck_ticket_tiers_stock_slots_range"), "ticket_tiers", type_="check")
    op.drop_column("ticket_tiers", "stock_slots")
