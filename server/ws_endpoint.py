"""``GET /ws/sessions/{id}``: socket glue only. Checks Origin and who is calling at the
handshake (refused before accept: the browser sees HTTP 403), then hands the socket to
:class:`realtime.connection.Connection`.

A session socket is served straight from the app's entry (:func:`serve_directly`), not
through the HTTP middleware and the router: every layer is a coroutine frame held for the
socket's whole life (~5 KB of each idle socket's ~45 KiB of Python memory), and none of
them does anything for a socket. What they would have done is done here: the Origin
check and the request id (the endpoint's own), the path parameter."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid

from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime.connection import Connection, PeerGone, Principal
from realtime.eventlog import parse_after
from realtime.lifecycle import TERMINAL, SessionStatus
from realtime.revocation import Credential, StudentCredential, TeacherCredential, link_fingerprint
from realtime.vocabulary import CloseCode, Role
from server.access import claim_is_current
from server.auth import read_student_claim, read_teacher_claim
from server.logging_setup import request_id, session_id
from server.origin import origin_allowed
from server.socketcaps import CapExceeded
from server.state import AppState, app_state
from server.ws_direct import DirectWrites
from storage.errors import NotFound
from storage.repos import sessions as session_repo

log = logging.getLogger(__name__)

# Policy violation: the handshake is refused (uvicorn answers it with HTTP 403).
REFUSE = 1008


class StarletteTransport:
    __slots__ = ("_direct", "_ws")

    def __init__(self, websocket: WebSocket, direct: DirectWrites | None = None) -> None:
        self._ws = websocket
        self._direct = direct

    def write_now(self, frame: bytes) -> bool:
        direct = self._direct
        return direct is not None and direct.write(frame)

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


async def authorise(
    websocket: WebSocket, state: AppState
) -> tuple[Principal, Credential, bool] | None:
    """Who may open this socket, checked against SQL as of its arrival (a revoked join link
    or teacher cookie is refused here), the credential that let them in (for revocations), and
    whether the session was live then."""
    try:
        session_id = uuid.UUID(str(websocket.path_params["id"]))
    except ValueError:
        return None
    try:
        # The one SQL query of a reconnect, shared by the handshakes that arrive together
        # for this session (each sees it as of after it arrived).
        session, owner = await state.handshakes.read(
            session_id,
            lambda: state.db.read(lambda db: session_repo.get_session_and_owner(db, session_id)),
        )
    except NotFound:
        return None
    live = SessionStatus(session.status) not in TERMINAL
    teacher = read_teacher_claim(websocket, state.signer)
    # Only the owner observes (another teacher may still hold this session's student cookie).
    if teacher is not None and claim_is_current(teacher, owner):
        principal = Principal(Role.TEACHER, session_id, teacher.user_id)
        return principal, TeacherCredential(teacher.user_id, teacher.version), live
    claim = read_student_claim(websocket, state.signer, session_id)
    if claim is not None and claim.nonce == session.join_nonce:
        credential = StudentCredential(session_id, link_fingerprint(claim.nonce))
        return Principal(Role.STUDENT, session_id), credential, live
    return None


async def session_socket(websocket: WebSocket, direct: DirectWrites | None = None) -> None:
    """Serve one session socket; ``direct`` writes its frames past the ASGI ``send`` when
    the server allows it (see :mod:`server.ws_direct`)."""
    state = app_state(websocket)
    if state.sockets is None or state.revoker is None or state.socket_caps is None:
        raise RuntimeError("the realtime parts are not built")
    if not origin_allowed(websocket.headers, websocket.url.scheme, state.settings.origins):
        await websocket.close(REFUSE, "origin not allowed")
        return
    admitted = await authorise(websocket, state)
    if admitted is None:
        await websocket.close(REFUSE, "not allowed")
        return
    principal, credential, live = admitted
    try:
        after = parse_after(websocket.query_params.get("after"))
    except ValueError:
        await websocket.close(REFUSE, "after must be a non-negative integer")
        return
    epoch = websocket.query_params.get("epoch") or None
    await websocket.accept()
    session_id.set(str(principal.session_id))  # this socket's task: its logs name it
    user = f"{principal.role}:{principal.user_id or principal.session_id}"
    address = websocket.client.host if websocket.client else "unknown"
    caps = state.socket_caps
    try:
        caps.admit(user, address)
    except CapExceeded as over:
        # Accepted, then closed with a code the page understands (a refused handshake
        # reaches a browser as a bare failure) and that stops its reconnecting.
        await websocket.close(CloseCode.TOO_MANY_SOCKETS, str(over))
        return
    # admit/release, not a context manager in an ExitStack: that pair (a deque, a
    # generator) was ~1 KB of every open socket's memory.
    try:
        connection = Connection(
            state.sockets,
            StarletteTransport(websocket, direct),
            principal,
            after,
            epoch,
            live=live,
        )
        log.debug("socket opened: %s", principal.role)
        with state.revoker.live.hold(credential, connection):
            await connection.run()
        log.debug("socket closed: %s", principal.role)
    finally:
        caps.release(user, address)


routes = [WebSocketRoute("/ws/sessions/{id}", session_socket)]

#: The route's path, as Starlette's ``{id}`` matches it (one segment).
SOCKET_PATH = re.compile(r"/ws/sessions/([^/]+)")


async def serve_directly(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
    """Serve ``scope`` if it is a session socket (True once it has ended); False for
    anything else, which goes through the middleware and the router as usual (so does a
    socket under a ``root_path``: the router knows how to strip it)."""
    if scope["type"] != "websocket" or scope.get("root_path"):
        return False
    match = SOCKET_PATH.fullmatch(scope["path"])
    if match is None:
        return False
    scope["app"] = app  # what app_state() reads, as Starlette's entry sets it
    scope["path_params"] = {"id": match[1]}
    token = request_id.set(uuid.uuid4().hex)
    try:
        await session_socket(WebSocket(scope, receive, send), DirectWrites.of(send))
    finally:
        request_id.reset(token)
    return True
