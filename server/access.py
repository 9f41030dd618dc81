"""Who is calling, checked against SQL, the authority on revocation: the lookups
:mod:`server.auth` (pure signing) leaves out. Every HTTP request and socket handshake
that accepts a teacher cookie goes through :func:`signed_in_teacher`; student cookies are
checked against the session's ``join_nonce`` where they are read.

Trade-off (no cache): a teacher cookie is valid only while it carries the user's current
``session_version``, read with the user row by primary key on every check. HTTP requests
read that row anyway (they need the teacher), so they pay nothing extra; a teacher's
socket handshake pays one primary-key read. A per-worker cache invalidated through the
revocation channel would save that read but accept a revoked cookie whenever the channel
lags or is down; the channel is only the fast path for sockets that are already open.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from realtime.revocation import Revocation
from server.auth import TeacherClaim, read_teacher_claim
from server.state import AppState
from storage.models import User
from storage.repos import users as user_repo

__all__ = [
    "TEACHER_ROLES",
    "claim_is_current",
    "close_revoked",
    "signed_in_teacher",
    "teacher_of_claim",
]

#: Roles that may use the teacher API and observe their sessions.
TEACHER_ROLES = frozenset({"teacher", "admin"})


async def signed_in_teacher(conn: HTTPConnection, state: AppState) -> User | None:
    """The teacher whose cookie ``conn`` carries, if it is still valid; else None."""
    claim = read_teacher_claim(conn, state.signer)
    return None if claim is None else await teacher_of_claim(claim, state)


async def teacher_of_claim(claim: TeacherClaim, state: AppState) -> User | None:
    """The claim's teacher if its version is the user's current one; else None."""
    async with state.db.session() as db:
        user = await user_repo.get(db, claim.user_id)
    return user if user is not None and claim_is_current(claim, user) else None


def claim_is_current(claim: TeacherClaim, user: User) -> bool:
    """Whether ``claim`` still signs ``user`` in: theirs, a teacher's, and of the user's
    current session version (a logout or a password change bumps it)."""
    return (
        claim.user_id == user.id
        and user.role in TEACHER_ROLES
        and user.session_version == claim.version
    )


async def close_revoked(state: AppState, revocation: Revocation) -> None:
    """Close the open sockets ``revocation`` names, on every worker. Call it once the
    revocation is committed in SQL; never raises for a store outage (see
    :meth:`realtime.revoker.Revoker.revoke`)."""
    if state.revoker is not None:
        await state.revoker.revoke(revocation)
