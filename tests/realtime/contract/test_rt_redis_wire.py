"""The script pipe's connection of its own to Redis (``redis_wire.Wire``): its dial as the
worker's URL asks (credentials, database, client name), a connection lost while idle,
answers that do not come, and closing, against the real Redis server through a proxy."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends import BackendUnavailable
from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_scripts import ScriptPipe
from realtime.backends.redis_wire import Wire
from tests.realtime.contract.redis_pipe_rig import Rig, in_flight, make_rig, proxied
from tests.realtime.contract.rt_helpers import eventually
from tests.support.servers import free_port
from tests.support.tcpproxy import running_proxy

pytestmark = pytest.mark.redis


async def test_closing_lets_calls_in_flight_be_answered_and_refuses_more(rig: Rig) -> None:
    first = await in_flight(rig)
    closing = asyncio.ensure_future(rig.pipe.aclose())
    await eventually(lambda: _refuses(rig))
    rig.proxy.release_replies()
    await closing
    assert await first == "first"
    assert await rig.count() == 1


async def _refuses(rig: Rig) -> bool:
    try:
        await rig.run("late")
    except BackendUnavailable:
        return True
    return False


async def test_closing_gives_up_on_answers_after_its_grace(
    redis_url: str, redis_prefix: str
) -> None:
    with running_proxy(*proxied(redis_url)) as proxy:
        made = await make_rig(redis_url, proxy, redis_prefix)
        made.pipe = ScriptPipe(made.proxied, close_grace=0.05)
        try:
            first = await in_flight(made)
            await made.pipe.aclose()
            with pytest.raises(RedisConnectionError):
                await first
        finally:
            proxy.release_replies()
            await made.aclose()


async def test_a_connection_closed_while_idle_is_replaced_before_the_next_call(
    rig: Rig,
) -> None:
    wire = rig.wire
    rig.proxy.cut()  # as Redis closing an idle client, or restarting
    rig.proxy.restore()
    await eventually(lambda: _lost(wire))  # the loop reads the end at once
    assert await rig.run("after") == "after"
    assert rig.pipe.dialled == 2


async def _lost(wire: Wire) -> bool:
    return wire.lost


async def test_no_answer_in_the_socket_timeout_fails_the_calls_and_the_next_reconnects(
    redis_url: str, redis_prefix: str
) -> None:
    with running_proxy(*proxied(redis_url)) as proxy:
        made = await make_rig(redis_url, proxy, redis_prefix, socket_timeout=0.2)
        try:
            proxy.hold_replies()
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await made.run("held")
            waited = time.monotonic() - started
            assert waited >= 0.2, waited  # not before the timeout (at most twice it)
            assert await made.count() == 1  # it ran: never sent again
            proxy.release_replies()
            assert await made.run("next") == "next"
            assert made.pipe.dialled == 2
        finally:
            proxy.release_replies()
            await made.aclose()


async def test_the_connection_logs_in_selects_its_database_and_names_itself(
    redis_url: str, redis_prefix: str
) -> None:
    """What a ``redis://user:password@host/db?client_name=...`` URL asks of the worker's
    pooled connections, its own does too; a refused password is a connection error."""
    admin = Redis.from_url(redis_url, decode_responses=True)
    user, password = f"vc-test-{secrets.token_hex(4)}", secrets.token_hex(8)
    host, port = proxied(redis_url)
    await admin.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    key = f"{redis_prefix}:db3"
    url = f"redis://{user}:{password}@{host}:{port}/3?client_name=vc-pipe-{user}"
    client = redis_client(url, decode_responses=True)
    assert isinstance(client, Redis)
    pipe = ScriptPipe(client)
    wrong = redis_client(url.replace(password, "wrong"), decode_responses=True)
    assert isinstance(wrong, Redis)
    refused = ScriptPipe(wrong)
    setting = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
    in_db3 = Redis.from_url(f"redis://{host}:{port}/3", decode_responses=True)
    try:
        assert await pipe.run(setting, [key], ["here"]) == "OK"
        assert await in_db3.get(key) == "here"
        clients = await admin.client_list()
        assert any(c["name"] == f"vc-pipe-{user}" and c["user"] == user for c in clients)
        with pytest.raises(AuthenticationError):
            await refused.run(setting, [key], ["no"])
    finally:
        await pipe.aclose()
        await refused.aclose()
        await in_db3.delete(key)
        await admin.acl_deluser(user)
        for made in (client, wrong, in_db3, admin):
            await made.aclose()


@contextmanager
def tls_and_unix_redis(workdir: Path) -> Iterator[tuple[str, str]]:
    """A private ``redis-server`` listening only on a TLS port (a self-signed certificate
    made with ``openssl``) and a Unix socket: the ``rediss://`` and ``unix://`` URLs a
    worker would be given."""
    cert, key, sock = workdir / "cert.pem", workdir / "key.pem", workdir / "redis.sock"
    openssl = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    made = {"-keyout": str(key), "-out": str(cert), "-subj": "/CN=localhost"}
    made["-addext"] = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    subprocess.run(
        [*openssl.split(), *(part for pair in made.items() for part in pair)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = {
        "port": "0",
        "bind": "127.0.0.1",
        "tls-port": str(port),
        "tls-cert-file": str(cert),
        "tls-key-file": str(key),
        "tls-ca-cert-file": str(cert),
        "tls-auth-clients": "no",
        "unixsocket": str(sock),
        "unixsocketperm": "700",
        "save": "",
        "appendonly": "no",
        "dir": str(workdir),
    }
    server = subprocess.Popen(
        [
            "redis-server",
            *(part for name, value in options.items() for part in (f"--{name}", value)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10  # it starts in ~10 ms
        while not sock.exists():
            assert server.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.01)  # polling for its socket file
        yield f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}", f"unix://{sock}?db=2"
    finally:
        server.kill()
        server.wait(timeout=10)


async def test_the_connection_dials_a_tls_port_and_a_unix_socket(tmp_path: Path) -> None:
    with tls_and_unix_redis(tmp_path) as (tls_url, unix_url):
        for url, db in ((tls_url, 0), (unix_url, 2)):
            client = redis_client(url, decode_responses=True)
            assert isinstance(client, Redis)
            pipe = ScriptPipe(client)
            setting = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
            try:
                assert await pipe.run(setting, ["k"], [url]) == "OK"
                # Read back through redis-py's own connection: the same server and database.
                assert await client.get("k") == url
                assert (await client.client_info())["db"] == db
            finally:
                await pipe.aclose()
                await client.aclose()


async def test_calls_waiting_on_a_dial_that_fails_share_its_failure(
    redis_url: str, redis_prefix: str
) -> None:
    """Redis out of reach: the calls that waited for one dial fail with it, rather than
    each dialling in turn (100 calls, 100 connect timeouts one after another)."""
    with running_proxy(*proxied(redis_url)) as proxy:
        # The client's name is the handshake: its answer held, the dial times out.
        client = redis_client(
            f"redis://127.0.0.1:{proxy.port}/0?client_name=vc-unanswered",
            decode_responses=True,
            socket_connect_timeout=0.2,
        )
        assert isinstance(client, Redis)
        pipe = ScriptPipe(client)
        script = client.register_script("return 1")
        proxy.hold_replies()
        try:
            failures = await asyncio.gather(
                *(pipe.run(script, [f"{redis_prefix}:k"], []) for _ in range(10)),
                return_exceptions=True,
            )
            assert all(isinstance(f, RedisTimeoutError) for f in failures), failures
            assert (pipe.attempts, pipe.dialled) == (1, 0)
            proxy.release_replies()
            assert await pipe.run(script, [f"{redis_prefix}:k"], []) == 1
            assert (pipe.attempts, pipe.dialled) == (2, 1)
        finally:
            proxy.release_replies()
            await pipe.aclose()
            await client.aclose()


async def test_a_connection_dialled_while_the_pipe_closes_is_closed_too(
    redis_url: str, redis_prefix: str
) -> None:
    with running_proxy(*proxied(redis_url)) as proxy:
        client = redis_client(
            f"redis://127.0.0.1:{proxy.port}/0?client_name=vc-closing", decode_responses=True
        )
        assert isinstance(client, Redis)
        pipe = ScriptPipe(client)
        script = client.register_script("return 1")
        proxy.hold_replies()  # the dial waits for its CLIENT SETNAME answer
        try:
            call = asyncio.ensure_future(pipe.run(script, [f"{redis_prefix}:k"], []))
            await eventually(lambda: _attempted(pipe))
            await pipe.aclose()
            proxy.release_replies()
            with pytest.raises(BackendUnavailable):
                await call
            assert pipe.wire is None and pipe.dialled == 0
            await eventually(lambda: _no_client_named(redis_url, "vc-closing"))
        finally:
            proxy.release_replies()
            await pipe.aclose()
            await client.aclose()


async def _attempted(pipe: ScriptPipe) -> bool:
    return pipe.attempts == 1


async def _no_client_named(redis_url: str, name: str) -> bool:
    async with Redis.from_url(redis_url, decode_responses=True) as admin:
        return all(c["name"] != name for c in await admin.client_list())
