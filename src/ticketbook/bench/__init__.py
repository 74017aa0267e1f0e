"""`ticketbook bench`: load scenarios against a real server, measured against raw SQL."""
