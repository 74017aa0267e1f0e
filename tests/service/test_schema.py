"""The schema: migrations match the models, and the database itself refuses bad rows."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.databases import DatabaseFactory, with_database
from tests.support.inventory import doctor, execute, fetchval, make_concert
from ticketbook.db.migrate import alembic_config
from ticketbook.db.models import Base
from ticketbook.db.urls import sqlalchemy_url


def test_migrations_match_the_models(db_url: str) -> None:
    async def diff() -> list:
        engine = create_async_engine(sqlalchemy_url(db_url))
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        await engine.dispose()
        return list(result)

    assert asyncio.run(diff()) == []


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE tier_stock SET available = -1", "ck_tier_stock_available_not_negative"),
        ("UPDATE ticket_tiers SET stock_slots = 0", "ck_ticket_tiers_stock_slots_range"),
        ("UPDATE ticket_tiers SET price_cents = -1", "ck_ticket_tiers_price_not_negative"),
        ("UPDATE ticket_tiers SET tier_type = 'BALCONY'", "ck_ticket_tiers_tier_type_valid"),
        ("UPDATE ticket_tiers SET currency = 'usd'", "ck_ticket_tiers_currency_iso"),
    ],
)
def test_tier_constraints(db_url: str, sql: str, constraint: str) -> None:
    make_concert(db_url, {"GA": 5})
    with pytest.raises(asyncpg.CheckViolationError) as error:
        execute(db_url, sql)
    assert error.value.constraint_name == constraint
    assert fetchval(db_url, "SELECT t.available_quantity FROM ticket_tiers t") == 5


@pytest.mark.parametrize(
    ("quantity", "unit", "total", "status", "constraint"),
    [
        (0, 1000, 0, "CONFIRMED", "ck_bookings_quantity_range"),
        (11, 1000, 11000, "CONFIRMED", "ck_bookings_quantity_range"),
        (2, 1000, 1000, "CONFIRMED", "ck_bookings_total_matches"),
        (1, -5, -5, "CONFIRMED", "ck_bookings_unit_price_not_negative"),
        (1, 1000, 1000, "SHIPPED", "ck_bookings_status_valid"),
    ],
)
def test_booking_constraints(
    db_url: str, quantity: int, unit: int, total: int, status: str, constraint: str
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    user_id = fetchval(db_url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    with pytest.raises(asyncpg.CheckViolationError) as error:
        execute(
            db_url,
            "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
            " total_cents, currency, status, hold_expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'USD', $7, now())",
            user_id,
            uuid.UUID(concert["id"]),
            uuid.UUID(concert["tiers"]["GA"]),
            quantity,
            unit,
            total,
            status,
        )
    assert error.value.constraint_name == constraint
    assert fetchval(db_url, "SELECT count(*) FROM bookings") == 0


def test_idempotency_key_is_unique_per_user(db_url: str) -> None:
    user_id = fetchval(db_url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    key = uuid.uuid4()
    insert = "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, 'f')"
    execute(db_url, insert, user_id, key)
    with pytest.raises(asyncpg.UniqueViolationError):
        execute(db_url, insert, user_id, key)
    other = fetchval(db_url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    execute(db_url, insert, other, key)
    assert fetchval(db_url, "SELECT count(*) FROM idempotency_keys") == 2


def test_the_accounts_migration_keeps_existing_data_and_goes_back(
    databases: DatabaseFactory,
) -> None:
    """A database from before accounts (0001), with a guest's booking and a user whose role
    said 'fan' without credentials, upgrades to head with nothing lost, and downgrades."""
    name = f"{databases.prefix}_from_0001"
    databases._admin(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    url = with_database(databases.admin_url, name)
    command.upgrade(alembic_config(url), "0001")
    concert = make_concert(url, {"GA": 10})
    guest = fetchval(url, "INSERT INTO users (role) VALUES ('guest') RETURNING id")
    old_fan = fetchval(url, "INSERT INTO users (role) VALUES ('fan') RETURNING id")
    execute(
        url,
        "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, "
        "total_cents, currency, status, hold_expires_at) SELECT $1, concert_id, id, 2, "
        "price_cents, 2 * price_cents, currency, 'CONFIRMED', now() FROM ticket_tiers "
        "WHERE id = $2",
        guest,
        uuid.UUID(concert["tiers"]["GA"]),
    )
    execute(url, "UPDATE ticket_tiers SET available_quantity = 8")

    command.upgrade(alembic_config(url), "head")
    assert fetchval(url, "SELECT role FROM users WHERE id = $1", old_fan) == "guest"
    assert fetchval(url, "SELECT count(*) FROM bookings WHERE user_id = $1", guest) == 1
    assert fetchval(url, "SELECT tb_tickets_held($1, $2)", guest, uuid.UUID(concert["id"])) == 2
    assert doctor(url).violations == 0

    command.downgrade(alembic_config(url), "0001")
    assert fetchval(url, "SELECT to_regclass('auth_sessions')") is None
    assert fetchval(url, "SELECT count(*) FROM bookings") == 1
