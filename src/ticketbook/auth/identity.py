"""Who is calling: a guest (a signed id, no account) or a signed-in account with a role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ticketbook.domain.enums import Role


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID
    role: Role
    email: str | None = None
    # The sign-in this request came with (None for a guest): what logging out revokes.
    session_id: uuid.UUID | None = None

    @property
    def is_guest(self) -> bool:
        return self.role is Role.GUEST

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER
