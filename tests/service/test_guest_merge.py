"""A guest's bookings merge into an account only as far as the per-concert cap allows
(issue 11, point 4), on the Accounts service and a real database.

Control run (the merge reverted to "move everything" in the working copy): "assert 14 ==
10", the account held 8 + 4 + 2 tickets for the concert after the guest signed in.
"""

from __future__ import annotations

import uuid

from tests.service.test_accounts_service import PASSWORD, book_as, email, run
from tests.support.inventory import make_concert
from ticketbook.auth.service import Accounts
from ticketbook.db.pool import Database
from ticketbook.domain.enums import SessionKind

HELD_SQL = """
SELECT coalesce(sum(quantity), 0) FROM bookings
 WHERE user_id = $1 AND concert_id = $2 AND status IN ('PENDING', 'CONFIRMED')
"""


def test_what_fits_moves_and_the_rest_stays_with_the_guest(db_url: str) -> None:
    concert = make_concert(db_url, {"VIP": 20, "GA": 20})
    other = make_concert(db_url, {"GA": 20})
    address = email()

    async def scene(accounts: Accounts, db: Database) -> None:
        user_id, _ = await accounts.create_account(address, PASSWORD)
        await book_as(db, user_id, concert["tiers"]["VIP"], 8)
        guest_id = await accounts.create_guest()
        too_big = await book_as(db, guest_id, concert["tiers"]["GA"], 4)  # oldest: no room
        fits = await book_as(db, guest_id, concert["tiers"]["GA"], 2)  # a later one still fits
        elsewhere = await book_as(db, guest_id, other["tiers"]["GA"], 5)
        moved = await accounts.sign_in(
            email=address, password=PASSWORD, address=None, kind=SessionKind.API, guest_id=guest_id
        )
        owners = {
            r["id"]: r["user_id"]
            for r in await db.fetch(
                "SELECT id, user_id FROM bookings WHERE id = ANY($1)", [too_big, fits, elsewhere]
            )
        }
        assert await db.fetchval(HELD_SQL, user_id, uuid.UUID(concert["id"])) == 10
        assert owners == {too_big: guest_id, fits: user_id, elsewhere: user_id}
        assert (moved.moved_bookings, moved.kept_bookings) == (2, 1)
        # The guest stays, with the booking and its key, so its token still reaches both.
        assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", guest_id) == 1
        key_owners = await db.fetch(
            "SELECT booking_id, user_id FROM idempotency_keys WHERE booking_id = ANY($1)",
            [too_big, fits],
        )
        assert {r["booking_id"]: r["user_id"] for r in key_owners} == {
            too_big: guest_id,
            fits: user_id,
        }
        # Signing in again from that guest moves nothing more while there is no room.
        again = await accounts.sign_in(
            email=address, password=PASSWORD, address=None, kind=SessionKind.API, guest_id=guest_id
        )
        assert (again.moved_bookings, again.kept_bookings) == (0, 1)

    run(db_url, scene)
