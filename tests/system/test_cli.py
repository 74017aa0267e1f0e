"""The operator's commands against real databases: migrate, seed, doctor, serve's start checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.databases import DatabaseFactory, with_database
from tests.support.inventory import execute, fetch, fetchval, make_concert, set_available
from tests.support.server import LiveServer, free_port
from ticketbook.catalog.demo import DEMO_CONCERTS
from ticketbook.db.migrate import head_revision
from ticketbook.seating.demo_layouts import concert_hall

# The demo's tiers: each concert's, and a seated concert's one per price zone.
DEMO_TIERS = sum(len(c.quantities) + len(c.zone_prices_cents) for c in DEMO_CONCERTS)


def ticketbook(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketbook.cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_seed_loads_the_demo_catalog(db_url: str, tmp_path: Path) -> None:
    result = ticketbook("seed", env={"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert f"{len(DEMO_CONCERTS)} concerts" in result.stdout
    rows = fetch(
        db_url,
        "SELECT c.starts_at, t.tier_type, t.zone, t.price_cents, t.currency, t.total_quantity,"
        " t.available_quantity FROM ticket_tiers t JOIN concerts c ON c.id = t.concert_id"
        " ORDER BY c.starts_at, t.zone",
    )
    prices = {
        "VIP": 10000,
        "FRONT_ROW": 5000,
        "GA": 1000,
        "premium": 12000,
        "standard": 7500,
        "balcony": 4500,
    }
    by_tier: dict[str, list[int]] = {}
    for row in rows:
        assert row["available_quantity"] == row["total_quantity"]
        assert row["currency"] == "USD"
        assert row["price_cents"] == prices[row["zone"] or row["tier_type"]]
        by_tier.setdefault(row["zone"] or row["tier_type"], []).append(row["total_quantity"])
    seats = {z: sum(1 for s in concert_hall().seats if s.zone == z) for z in prices}
    assert by_tier == {
        "VIP": [50, 100, 30, 80, 10],
        "FRONT_ROW": [150, 200, 120, 180, 100],
        # The fourth-week concert is the seated one: a standing floor and three zones.
        "GA": [1500, 300, 2000, 1000, 1800, 1200],
        "balcony": [seats["balcony"]],
        "premium": [seats["premium"]],
        "standard": [seats["standard"]],
    }
    again = ticketbook(
        "seed", "--if-empty", env={"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    )
    assert again.returncode == 0 and "left as they are" in again.stdout
    assert fetchval(db_url, "SELECT count(*) FROM concerts") == len(DEMO_CONCERTS)


def test_seed_refuses_a_database_with_bookings_unless_reset(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    concert = make_concert(db_url, {"GA": 5})
    user_id = fetchval(db_url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    execute(
        db_url,
        "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
        " total_cents, currency, status, hold_expires_at)"
        " VALUES ($1, $2::uuid, $3::uuid, 1, 1000, 1000, 'USD', 'CONFIRMED', now())",
        user_id,
        concert["id"],
        concert["tiers"]["GA"],
    )
    set_available(db_url, None, 4)

    refused = ticketbook("seed", env=env)
    assert refused.returncode == 2
    assert "already has bookings" in refused.stderr and "--reset" in refused.stderr
    assert fetchval(db_url, "SELECT count(*) FROM bookings") == 1
    assert fetchval(db_url, "SELECT count(*) FROM concerts") == 1

    reset = ticketbook("seed", "--reset", env=env)
    assert reset.returncode == 0, reset.stderr
    assert fetchval(db_url, "SELECT count(*) FROM bookings") == 0
    assert fetchval(db_url, "SELECT count(*) FROM concerts") == len(DEMO_CONCERTS)


def test_doctor_reports_a_broken_conservation_law(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    assert ticketbook("seed", env=env).returncode == 0
    clean = ticketbook("doctor", env=env)
    assert clean.returncode == 0
    assert f"conservation holds for all {DEMO_TIERS} tiers" in clean.stdout
    assert "doctor: clean" in clean.stdout

    # A ticket vanishes: available drops with no booking to account for it.
    execute(
        db_url,
        "UPDATE tier_stock s SET available = s.available - 1 FROM ticket_tiers t"
        " WHERE t.id = s.tier_id AND t.tier_type = 'VIP' AND t.total_quantity = 10",
    )
    broken = ticketbook("doctor", env=env)
    assert broken.returncode == 1
    assert "FAIL  conservation broken" in broken.stdout
    assert "available 9 + held/sold 0 != total 10" in broken.stdout

    # A dropped CHECK constraint is reported too.
    execute(db_url, "ALTER TABLE bookings DROP CONSTRAINT ck_bookings_quantity_range")
    dropped = ticketbook("doctor", env=env)
    assert dropped.returncode == 1
    assert "constraints missing: ck_bookings_quantity_range" in dropped.stdout


def test_tier_split_spreads_the_stock_and_refuses_bad_input(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    tier_id = make_concert(db_url, {"GA": 10})["tiers"]["GA"]
    split = ticketbook("tier", "split", tier_id, "4", env=env)
    assert split.returncode == 0, split.stderr
    assert f"tier {tier_id}: 10 free tickets over 4 stock slot(s)" in split.stdout
    slots = fetch(db_url, "SELECT available FROM tier_stock ORDER BY slot")
    assert [r["available"] for r in slots] == [3, 3, 2, 2]

    too_many = ticketbook("tier", "split", tier_id, "65", env=env)
    assert too_many.returncode == 2
    assert "slots must be between 1 and 64" in too_many.stderr
    unknown = ticketbook("tier", "split", "00000000-0000-0000-0000-000000000000", "2", env=env)
    assert unknown.returncode == 2
    assert "no ticket tier 00000000-0000-0000-0000-000000000000" in unknown.stderr
    assert ticketbook("doctor", env=env).returncode == 0


def test_doctor_cannot_reach_the_database(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = ticketbook(
        "doctor",
        env={
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x",
            "TICKETBOOK_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2
    assert "database error" in result.stderr


def test_serve_refuses_pending_migrations_when_auto_migrate_is_off(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    name = f"{databases.prefix}_unmigrated"
    databases._admin(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    url = with_database(databases.admin_url, name)
    env = {"DATABASE_URL": url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    refused = ticketbook(
        "serve", "--port", str(free_port()), env={**env, "TICKETBOOK_AUTO_MIGRATE": "0"}
    )
    assert refused.returncode == 2
    assert "run `ticketbook migrate`" in refused.stderr
    assert fetchval(url, "SELECT to_regclass('bookings')") is None

    migrated = ticketbook("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert fetchval(url, "SELECT version_num FROM alembic_version") == head_revision()
    # Migrating again is a no-op.
    assert ticketbook("migrate", env=env).returncode == 0


def test_serve_applies_pending_migrations_at_start(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    name = f"{databases.prefix}_autostart"
    databases._admin(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    url = with_database(databases.admin_url, name)
    server = LiveServer(url, tmp_path, {}, workers=1).start()
    try:
        assert fetchval(url, "SELECT version_num FROM alembic_version") == head_revision()
    finally:
        server.stop()


def test_invalid_configuration_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    result = ticketbook(
        "doctor",
        env={
            "DATABASE_URL": db_url,
            "TICKETBOOK_DATA_DIR": str(tmp_path),
            "TICKETBOOK_PAYMENT_SUCCESS_RATE": "lots",
        },
    )
    assert result.returncode == 2
    assert "TICKETBOOK_PAYMENT_SUCCESS_RATE must be a number" in result.stderr


def test_embedded_database_persists_in_the_data_directory(tmp_path: Path) -> None:
    """Without DATABASE_URL the embedded PostgreSQL 18 lives in TICKETBOOK_DATA_DIR/pgdata
    and keeps its data across runs."""
    env = {"DATABASE_URL": "", "TICKETBOOK_DATA_DIR": str(tmp_path / "tb")}
    first = ticketbook("seed", env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "tb" / "pgdata" / "PG_VERSION").read_text().strip() == "18"
    second = ticketbook("seed", "--if-empty", env=env)
    assert second.returncode == 0, second.stderr
    assert "left as they are" in second.stdout
    doctor = ticketbook("doctor", env=env)
    assert f"conservation holds for all {DEMO_TIERS} tiers" in doctor.stdout


def test_venue_generate_import_seat_export(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    generated = ticketbook(
        "venue",
        "generate",
        "--name",
        "Loop Hall",
        "--section",
        "A:3x4:stalls",
        "--section",
        "B:2x5:circle",
        env=env,
    )
    assert generated.returncode == 0, generated.stderr
    document = tmp_path / "hall.json"
    document.write_text(generated.stdout)
    imported = ticketbook("venue", "import", str(document), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "Loop Hall, 22 seats in 2 sections" in imported.stdout
    layout_id = imported.stdout.split()[1]

    concert = make_concert(db_url, {"GA": 10})
    missing = ticketbook(
        "venue", "seat", concert["id"], layout_id, "--price", "stalls=5000", env=env
    )
    assert missing.returncode == 2
    assert "a price is needed for zone(s) circle" in missing.stderr
    seated = ticketbook(
        "venue",
        "seat",
        concert["id"],
        layout_id,
        "--price",
        "stalls=5000",
        "--price",
        "circle=3000",
        env=env,
    )
    assert seated.returncode == 0, seated.stderr
    assert "zone circle (Circle)" in seated.stdout and "10 seats" in seated.stdout
    tier = fetchval(db_url, "SELECT id::text FROM ticket_tiers WHERE zone = 'stalls'")
    refused = ticketbook("tier", "split", tier, "4", env=env)
    assert refused.returncode == 2
    assert "sells reserved seats" in refused.stderr

    exported = tmp_path / "export.json"
    done = ticketbook("venue", "export", layout_id, "--output", str(exported), env=env)
    assert done.returncode == 0, done.stderr
    again = ticketbook("venue", "import", "--replace", layout_id, str(exported), env=env)
    assert again.returncode == 0, again.stderr
    assert f"layout {layout_id} version 2" in again.stdout

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ticketbook.layout/1", "name": "x"}')
    refused_layout = ticketbook("venue", "import", str(bad), env=env)
    assert refused_layout.returncode == 2
    assert "invalid layout" in refused_layout.stderr
    assert ticketbook("doctor", env=env).returncode == 0
