"""``GET /ws/sessions/{id}``: socket glue only. Checks Origin and who is calling at the
handshake (refused before accept: the browser sees HTTP 403), then hands the socket to
:class:`realtime.connection.Connection`."""

from __future__ import annotations

import contextlib
import uuid

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime.connection import Connection, PeerGone, Principal
from realtime.eventlog import parse_after
from realtime.vocabulary import Role
from server.auth import read_student_claim, read_teacher_id
from server.origin import origin_allowed
from server.state import AppState, app_state
from storage.errors import NotFound
from storage.repos import sessions as session_repo

# Policy violation: the handshake is refused (uvicorn answers it with HTTP 403).
REFUSE = 1008


class StarletteTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError) as gone:
            # Starlette raises WebSocketDisconnect for a dropped transport and RuntimeError
            # for a send after the close handshake: both mean the peer has left.
            raise PeerGone from gone

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        if text is not None:
            return text
        data: bytes = message.get("bytes") or b""
        return data

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self._ws.close(code, reason)


async def authorise(websocket: WebSocket, state: AppState) -> Principal | None:
    try:
        session_id = uuid.UUID(str(websocket.path_params["id"]))
    except ValueError:
        return None
    try:
        async with state.db.session() as db:
            session = await session_repo.get_session_unscoped(db, session_id)
    except NotFound:
        return None
    teacher_id = read_teacher_id(websocket, state.signer)
    if teacher_id is not None and teacher_id == session.owner_id:
        return Principal(Role.TEACHER, session_id, teacher_id)
    claim = read_student_claim(websocket, state.signer, session_id)
    if claim is not None and claim.nonce == session.join_nonce:
        return Principal(Role.STUDENT, session_id)
    return None


async def session_socket(websocket: WebSocket) -> None:
    state = app_state(websocket)
    if state.sockets is None:
        raise RuntimeError("the realtime parts are not built")
    if not origin_allowed(websocket.headers, websocket.url.scheme, state.settings.origins):
        await websocket.close(REFUSE, "origin not allowed")
        return
    principal = await authorise(websocket, state)
    if principal is None:
        await websocket.close(REFUSE, "not allowed")
        return
    try:
        after = parse_after(websocket.query_params.get("after"))
    except ValueError:
        await websocket.close(REFUSE, "after must be a non-negative integer")
        return
    epoch = websocket.query_params.get("epoch") or None
    await websocket.accept()
    transport = StarletteTransport(websocket)
    await Connection(state.sockets, transport, principal, after, epoch).run()


routes = [WebSocketRoute("/ws/sessions/{id}", session_socket)]
