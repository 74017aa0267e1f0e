"""Outgoing mail: the messages (confirmations, transfers) and the outbox sender."""
