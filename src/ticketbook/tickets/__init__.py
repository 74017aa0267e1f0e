"""Tickets: one per admission of a confirmed booking, with a code signed for offline checks."""
