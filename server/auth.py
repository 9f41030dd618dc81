"""Who is calling: teachers by a signed login cookie, students by a signed per-session
cookie obtained from the session's join link. Pure signing logic; the lookups that need
the database live in :mod:`server.access`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

TEACHER_COOKIE = "vc_auth"
# Teachers log in once per working day.
TEACHER_COOKIE_MAX_AGE = 12 * 3600
#: The shortest password a teacher may set; the longest keeps hashing cheap.
PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS = 10, 1_000
STUDENT_COOKIE_PREFIX = "vc_student_"
# A student cookie outlives the session so the student can read the released transcript.
STUDENT_COOKIE_MAX_AGE = 30 * 24 * 3600


def new_join_nonce() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class TeacherClaim:
    """What a signed teacher cookie says: who, and the user's ``session_version`` when it
    was issued. Only :mod:`server.access` may take it as a login (it checks the version)."""

    user_id: uuid.UUID
    version: int


@dataclass(frozen=True, slots=True)
class StudentClaim:
    session_id: uuid.UUID
    nonce: str


class Signer:
    """Signs and checks every token we hand to a browser (salted per purpose)."""

    def __init__(self, secret_key: str) -> None:
        self._teacher = URLSafeTimedSerializer(secret_key, salt="vc.teacher")
        self._student = URLSafeTimedSerializer(secret_key, salt="vc.student")
        self._join = URLSafeSerializer(secret_key, salt="vc.join")

    # Teachers -----------------------------------------------------------------
    def teacher_token(self, user_id: uuid.UUID, version: int) -> str:
        return self._teacher.dumps([str(user_id), version])

    def teacher_claim(self, token: str | None) -> TeacherClaim | None:
        """The claim of a well-signed, unexpired teacher cookie. A cookie from before
        session versions (a bare user id) is refused: its teacher logs in once more."""
        if not token:
            return None
        try:
            user_id, version = self._teacher.loads(token, max_age=TEACHER_COOKIE_MAX_AGE)
            if not isinstance(version, int) or isinstance(version, bool):
                return None
            return TeacherClaim(uuid.UUID(user_id), version)
        except (BadSignature, ValueError, TypeError, AttributeError):
            return None

    # Join links and student cookies ------------------------------------------
    def join_token(self, session_id: uuid.UUID, nonce: str) -> str:
        return self._join.dumps([str(session_id), nonce])

    def read_join_token(self, token: str) -> StudentClaim | None:
        return _claim(self._join, token)

    def student_token(self, session_id: uuid.UUID, nonce: str) -> str:
        return self._student.dumps([str(session_id), nonce])

    def student_claim(self, token: str | None, session_id: uuid.UUID) -> StudentClaim | None:
        if not token:
            return None
        claim = _claim(self._student, token, max_age=STUDENT_COOKIE_MAX_AGE)
        if claim is None or claim.session_id != session_id:
            return None
        return claim


def _claim(
    serializer: URLSafeSerializer | URLSafeTimedSerializer, token: str, max_age: int | None = None
) -> StudentClaim | None:
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            raw = serializer.loads(token, max_age=max_age)
        else:
            raw = serializer.loads(token)
        session_id, nonce = raw
        return StudentClaim(uuid.UUID(session_id), str(nonce))
    except (BadSignature, ValueError, TypeError):
        return None


def student_cookie_name(session_id: uuid.UUID) -> str:
    return STUDENT_COOKIE_PREFIX + session_id.hex


def read_teacher_claim(conn: HTTPConnection, signer: Signer) -> TeacherClaim | None:
    """The teacher cookie's claim, not yet checked against SQL (see :mod:`server.access`)."""
    return signer.teacher_claim(conn.cookies.get(TEACHER_COOKIE))


def read_student_claim(
    conn: HTTPConnection, signer: Signer, session_id: uuid.UUID
) -> StudentClaim | None:
    return signer.student_claim(conn.cookies.get(student_cookie_name(session_id)), session_id)


def set_cookie(response: Response, name: str, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
