"""People: connection caps per user and per address (issue 16), in process on SQLite and
PostgreSQL, with small caps (3 per user, 5 per address). A socket over a cap is accepted
and closed at once with ``CloseCode.TOO_MANY_SOCKETS`` (4029); closing one frees its slot;
another address, or another user, is not affected. With the default caps, the connect
storm's shape (one teacher observing one session 1,000 times through one load balancer's
address) is admitted."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from realtime.vocabulary import CloseCode
from server.settings import Settings
from server.socketcaps import CapExceeded, SocketCaps
from tests.api.conftest import ClientFactory, NewTeacher, make_session
from tests.support.asgi_socket import AsgiSocket, ClosedError
from tests.support.settings import make_settings

PER_USER = 3
PER_ADDRESS = 4


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        ws_max_sockets_per_user=PER_USER,
        ws_max_sockets_per_address=PER_ADDRESS,
    )


def sock(app: Starlette, sid: str, cookies: httpx.Cookies, address: str) -> AsgiSocket:
    return AsgiSocket(app, f"/ws/sessions/{sid}", cookies=cookies, client=(address, 50000))


async def refused_code(app: Starlette, sid: str, cookies: httpx.Cookies, address: str) -> int:
    async with sock(app, sid, cookies, address) as extra:
        with pytest.raises(ClosedError) as closed:
            await extra.recv()
    return closed.value.closed.code


async def test_sockets_over_a_cap_are_closed_with_4029(
    app: Starlette, new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    sid = session["id"]
    assert (await teacher.post(f"/api/sessions/{sid}/start")).status_code == 200
    student = make_client()
    assert (await student.get(session["join_url"].removeprefix("http://testserver"))).is_redirect
    async with AsyncExitStack() as stack:
        # Per user: the teacher's fourth socket (from another address each time).
        tabs = [
            await stack.enter_async_context(sock(app, sid, teacher.cookies, f"10.0.0.{n}"))
            for n in range(PER_USER)
        ]
        for tab in tabs:
            assert (await tab.recv())["type"] == "welcome"
        assert (
            await refused_code(app, sid, teacher.cookies, "10.0.1.1") == CloseCode.TOO_MANY_SOCKETS
        )
        # Per address: the teacher's first tab and three student sockets fill 10.0.0.0;
        # another session's student from there is refused, from elsewhere let in.
        shared = "10.0.0.0"
        for _ in range(PER_ADDRESS - 1):
            tab = await stack.enter_async_context(sock(app, sid, student.cookies, shared))
            assert (await tab.recv())["type"] == "welcome"
        other = await make_session(teacher)
        assert (await teacher.post(f"/api/sessions/{other['id']}/start")).status_code == 200
        student2 = make_client()
        assert (await student2.get(other["join_url"].removeprefix("http://testserver"))).is_redirect
        code = await refused_code(app, other["id"], student2.cookies, shared)
        assert code == CloseCode.TOO_MANY_SOCKETS
        async with sock(app, other["id"], student2.cookies, "10.9.9.9") as elsewhere:
            assert (await elsewhere.recv())["type"] == "welcome"
    # Everything closed: the slots are free again.
    async with sock(app, sid, teacher.cookies, "10.0.1.1") as again:
        assert (await again.recv())["type"] == "welcome"
    print(
        f"HARDENING socket caps: the {PER_USER + 1}th socket of one user and the "
        f"{PER_ADDRESS + 1}th of one address closed with {int(CloseCode.TOO_MANY_SOCKETS)}; "
        "slots freed on close"
    )


def test_the_default_caps_admit_a_load_balanced_connect_storm() -> None:
    defaults = Settings(_env_file=None)
    caps = SocketCaps(defaults.ws_max_sockets_per_user, defaults.ws_max_sockets_per_address)
    for _ in range(1_000):
        caps.admit("teacher:one", "10.0.0.1")
    assert caps.open_sockets(address="10.0.0.1") == 1_000
    with pytest.raises(CapExceeded):
        for _ in range(defaults.ws_max_sockets_per_user):
            caps.admit("teacher:one", "10.0.0.2")
    for _ in range(1_000):
        caps.release("teacher:one", "10.0.0.1")
