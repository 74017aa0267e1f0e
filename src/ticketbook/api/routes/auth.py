from __future__ import annotations

from fastapi import APIRouter

from ticketbook.api.deps import Services
from ticketbook.auth.service import create_guest
from ticketbook.domain.schemas import GuestSession

router = APIRouter(tags=["auth"])


@router.post("/auth/guest", response_model=GuestSession)
async def guest(services: Services) -> GuestSession:
    """Create a guest identity and return its bearer token."""
    user_id = await create_guest(services.db)
    return GuestSession(user_id=user_id, token=services.signer.issue(user_id))
