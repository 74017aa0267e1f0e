"""Live availability: PostgreSQL LISTEN/NOTIFY fanned out to Server-Sent Events streams."""
