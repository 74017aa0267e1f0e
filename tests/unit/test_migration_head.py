"""The head revision a worker reads from the migration files is the one Alembic computes."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from ticketbook.db.migrate import alembic_config, head_revision


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    alembic_head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_heads()
    assert alembic_head == [head_revision()]
