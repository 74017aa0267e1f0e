"""Database layer: schema (SQLAlchemy models), migrations, connection pool, embedded server."""
