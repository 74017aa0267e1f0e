"""Property-based fuzzing of the JSON API (Schemathesis against docs/openapi.json)."""
