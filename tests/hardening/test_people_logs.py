"""People: what reaches the logs, and the handshake refusal over real TCP (issue 16).

A real ``vclient serve`` at ``LOG_LEVEL=INFO`` (JSON lines, uvicorn's access lines
included) goes through a teacher's day: a wrong and a right password, a session, the
student joining by the link, a socket each, a say and a whisper, a password change, a new
join link and a logout. No password, cookie, join token or message text appears in its log.
And a cross-site handshake over TCP is answered HTTP 403 before any socket exists."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from server.auth import TEACHER_COOKIE
from tests.support.world import TEACHER_PASSWORD, SessionHandle, World, make_world

pytestmark = pytest.mark.slow

SAID = "my sister's name is Wilhelmina Quaternary"
WHISPERED = "ask about the Zanzibar letter"
WRONG = "not-the-password-but-close"
NEW_PASSWORD = "a brand new passphrase 4 logs"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    env = {"LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "SCRIPTED_TOKENS_PER_SECOND": "0"}
    with make_world(tmp_path, f"sqlite:///{tmp_path / 'logs.db'}", None, 1, **env) as w:
        yield w


def test_no_secret_or_message_text_in_info_logs(world: World) -> None:
    server = world.servers[0]
    with httpx.Client(base_url=server.base_url) as anon:
        wrong = anon.post(
            "/api/auth/login", json={"email": "teacher@school.example", "password": WRONG}
        )
        assert wrong.status_code == 401
    session = world.new_session()
    with world.http() as http:
        join_url = http.get(f"/api/sessions/{session.id}").json()["join_url"]
    token = urlsplit(join_url).path.rsplit("/", 1)[-1]
    asyncio.run(_talk(world, session))
    secrets = {
        "old password": TEACHER_PASSWORD,
        "wrong password": WRONG,
        "new password": NEW_PASSWORD,
        "teacher cookie": world.teacher_cookies[TEACHER_COOKIE],
        "join token": token,
        **{f"student cookie {k}": v for k, v in session.student_cookies.items()},
        "said text": SAID,
        "whispered text": WHISPERED,
    }
    with world.http() as http:
        changed = http.post(
            "/api/auth/password",
            json={"current_password": TEACHER_PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        secrets["reissued cookie"] = changed.cookies[TEACHER_COOKIE]
        http.cookies.set(TEACHER_COOKIE, changed.cookies[TEACHER_COOKIE])
        renewed = http.post(f"/api/sessions/{session.id}/join-link").json()["join_url"]
        secrets["new join token"] = urlsplit(renewed).path.rsplit("/", 1)[-1]
        assert http.post("/api/auth/logout").status_code == 200
    server.stop()  # flushes the log
    log = server.log()
    lines = log.splitlines()
    assert any('"level"' in line and "INFO" in line for line in lines), log[-2000:]
    leaked = {what: value for what, value in secrets.items() if value and value in log}
    assert not leaked, leaked
    print(
        f"HARDENING logs: {len(lines)} INFO-level log lines after login, join, say, whisper, "
        f"password change, new link and logout; 0 of {len(secrets)} secrets or texts in them"
    )


async def _talk(world: World, session: SessionHandle) -> None:
    # Over TCP, a foreign origin's handshake is refused before accept: HTTP 403.
    for origin in ("https://evil.test", "null", world.servers[0].base_url + ".evil.test"):
        with pytest.raises(InvalidStatus) as refused:
            await world.connect(session, as_="teacher", origin=origin)
        assert refused.value.response.status_code == 403
    async with (
        world.connect(session, as_="student") as student,
        world.connect(session, as_="teacher") as teacher,
    ):
        await student.recv()
        await teacher.recv()
        await student.send(type="say", text=SAID, client_id="log-1")
        await student.until(lambda e: e["type"] == "reply.done")
        await teacher.send(type="whisper", text=WHISPERED)
        await teacher.until(lambda e: e["type"] == "message" and e.get("role") == "whisper")
