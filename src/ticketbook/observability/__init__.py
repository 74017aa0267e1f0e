"""Metrics (Prometheus), structured JSON logs and request ids."""
