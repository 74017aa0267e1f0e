"""Check-in at the door: scans recorded once per admission, offline bundles and their sync,
door staff (docs/checkin.md)."""
