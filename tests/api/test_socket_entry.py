"""A session socket is served from the app's entry, past the HTTP middleware and the
router (each layer a coroutine frame held for the socket's life): it holds none of them,
and still gets what they gave it (its request id, the Origin check, its path parameter).
Under a ``root_path`` the router serves it as before; other socket paths are the
router's."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from realtime.vocabulary import EventType
from server.logging_setup import request_id
from tests.api.conftest import ClientFactory, NewTeacher, make_session
from tests.support.asgi_socket import AsgiSocket, Refused

#: The handshake's refusal (uvicorn turns it into HTTP 403).
REFUSE = 1008
MIDDLEWARE = ("Middleware.__call__", "Router.__call__", "WebSocketRoute.handle")


async def joined_student(
    teacher: httpx.AsyncClient, make_client: ClientFactory
) -> tuple[str, httpx.AsyncClient]:
    session = await make_session(teacher)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303
    return str(session["id"]), student


def through_middleware(names: list[str]) -> list[str]:
    return [name for name in names if name.endswith(MIDDLEWARE)]


class ContextOfRecords(logging.Handler):
    """The request id each record was logged under (read as it is emitted: the
    formatter reads the context variable, so it must be read in the logging task)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.ids: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.ids.append((record.name, request_id.get()))


async def test_a_session_socket_holds_no_middleware_and_keeps_its_request_id(
    app: Starlette, make_client: ClientFactory, new_teacher: NewTeacher
) -> None:
    sid, student = await joined_student(await new_teacher(), make_client)
    seen = ContextOfRecords()
    root = logging.getLogger()
    root.addHandler(seen)
    # setLevel, not `root.level =`: it clears every logger's cached isEnabledFor, which a
    # test before this one in the same worker may have filled at WARNING.
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        async with AsgiSocket(app, f"/ws/sessions/{sid}", cookies=student.cookies) as sock:
            assert (await sock.recv())["type"] == EventType.WELCOME
            held = sock.awaiting()
            assert "session_socket" in held and "Connection.run" in held, held
            assert through_middleware(held) == [], held
            logging.getLogger("realtime.probe").info("from the test's task: no request id")
            await sock.send(type="say", text="hello there", client_id="c1")
            while (await sock.recv())["type"] not in (EventType.REPLY_DONE, EventType.REPLY_ERROR):
                pass
    finally:
        root.removeHandler(seen)
        root.setLevel(level)
    from_socket = [rid for name, rid in seen.ids if name == "server.ws_endpoint"]
    assert len(from_socket) == 2 and len(set(from_socket)) == 1, seen.ids  # opened, closed
    assert from_socket[0] is not None
    assert ("realtime.probe", None) in seen.ids


async def test_the_origin_is_still_checked(
    app: Starlette, make_client: ClientFactory, new_teacher: NewTeacher
) -> None:
    sid, student = await joined_student(await new_teacher(), make_client)
    with pytest.raises(Refused) as refused:
        async with AsgiSocket(
            app, f"/ws/sessions/{sid}", cookies=student.cookies, origin="http://evil.example"
        ):
            pass
    assert refused.value.closed.code == REFUSE


async def test_under_a_root_path_the_router_serves_the_socket(
    app: Starlette, make_client: ClientFactory, new_teacher: NewTeacher
) -> None:
    sid, student = await joined_student(await new_teacher(), make_client)
    async with AsgiSocket(
        app, f"/ws/sessions/{sid}", cookies=student.cookies, root_path="/vc"
    ) as sock:
        assert (await sock.recv())["type"] == EventType.WELCOME
        assert through_middleware(sock.awaiting()) != []


async def test_other_socket_paths_are_the_routers(
    app: Starlette, make_client: ClientFactory, new_teacher: NewTeacher
) -> None:
    sid, student = await joined_student(await new_teacher(), make_client)
    for path in (f"/ws/sessions/{sid}/more", "/ws/other", "/ws/sessions/"):
        with pytest.raises(Refused):
            async with AsgiSocket(app, path, cookies=student.cookies):
                pass
