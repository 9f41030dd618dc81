"""People: cross-site WebSocket hijacking (issue 16). A page on another site, one whose
name merely starts like ours (``https://example.org.evil.test``), or a sandboxed page
(``Origin: null``) is refused at the handshake, before the socket is accepted (a real
server answers HTTP 403; ``test_people_logs.py`` checks that over TCP), even with the
teacher's valid cookie riding along, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.settings import Settings
from tests.api.conftest import NewTeacher, make_session
from tests.support.asgi_socket import AsgiSocket, Refused
from tests.support.settings import make_settings

#: The deployment's one extra origin (ALLOWED_ORIGINS); the server's own is http://testserver.
TRUSTED = "https://example.org"
REFUSE = 1008

HOSTILE_ORIGINS = [
    "https://evil.test",  # foreign
    "https://example.org.evil.test",  # look-alike: our name as a prefix
    "https://evilexample.org",  # look-alike: our name as a suffix
    "https://example.org@evil.test",  # userinfo trick
    "https://example.org:8443",  # our host, another port
    "http://example.org",  # our host, downgraded scheme
    "https://EXAMPLE.ORG.evil.test",
    "http://testserver.evil.test",  # look-alike of the server's own origin
    "https://testserver",  # the server's host on another scheme
    "null",  # sandboxed iframe, file:// page, some redirects
    "",
    "https://example.org https://evil.test",  # a list where one origin is expected
]
ACCEPTED_ORIGINS = ["http://testserver", TRUSTED, TRUSTED + "/"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, allowed_origins=TRUSTED)


async def _started(teacher: httpx.AsyncClient) -> str:
    session = await make_session(teacher)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    return str(session["id"])


async def test_hostile_origins_are_refused_before_accept(
    app: Starlette,
    new_teacher: NewTeacher,
) -> None:
    teacher = await new_teacher()
    sid = await _started(teacher)
    path = f"/ws/sessions/{sid}"
    refused = 0
    for origin in HOSTILE_ORIGINS:
        with pytest.raises(Refused) as refusal:
            async with AsgiSocket(app, path, cookies=teacher.cookies, origin=origin):
                pass
        # Refused means the app's first answer was a close, never websocket.accept.
        assert refusal.value.closed.code == REFUSE, origin
        refused += 1
    # No Origin but a browser's cross-site fetch metadata: refused too.
    with pytest.raises(Refused):
        async with AsgiSocket(
            app,
            path,
            cookies=teacher.cookies,
            origin=None,
            headers={"sec-fetch-site": "cross-site"},
        ):
            pass
    refused += 1
    # The controls: the same cookie from the right origins is let in.
    for origin in ACCEPTED_ORIGINS:
        async with AsgiSocket(app, path, cookies=teacher.cookies, origin=origin) as sock:
            assert (await sock.recv())["type"] == "welcome"
    print(
        f"HARDENING origins: {refused}/{len(HOSTILE_ORIGINS) + 1} hostile handshakes refused "
        f"before accept, {len(ACCEPTED_ORIGINS)}/{len(ACCEPTED_ORIGINS)} allowed ones accepted"
    )


async def test_hostile_origins_cannot_write_over_http(
    new_teacher: NewTeacher,
) -> None:
    """The same rule for browser writes (cross-site request forgery), per origin."""
    teacher = await new_teacher()
    sid = await _started(teacher)
    for origin in HOSTILE_ORIGINS:
        response = await teacher.post(f"/api/sessions/{sid}/pause", headers={"origin": origin})
        assert response.status_code == 403, (origin, response.text)
        assert response.json()["error"]["code"]
    state = (await teacher.get(f"/api/sessions/{sid}")).json()
    assert state["status"] == "active"
