"""TEST-ONLY code: the deliberately broken booking path the race tests use as their control,
and the routes that reach it. Production never imports this package: ``app.py`` imports it
only when TICKETBOOK_ENABLE_TEST_ROUTES=1 (a test checks that a default app never loads it).
"""
