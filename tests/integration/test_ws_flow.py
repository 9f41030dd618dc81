"""The session socket against real uvicorn processes, on both backends."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.world import Socket, World, student_view

pytestmark = pytest.mark.slow


def is_end(reply_id: str | None = None) -> Any:
    def check(event: dict[str, Any]) -> bool:
        ends = event.get("type") in ("reply.done", "reply.error")
        return ends and (reply_id is None or event.get("reply_id") == reply_id)

    return check


def assert_contiguous(seqs: list[int]) -> None:
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def reply_text(events: list[dict[str, Any]], reply_id: str) -> str:
    return "".join(
        e["text"] for e in events if e["type"] == "reply.delta" and e["reply_id"] == reply_id
    )


async def test_student_and_observer_on_different_workers_see_the_same(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=last) as teacher,
    ):
        s_welcome, t_welcome = await student.recv(), await teacher.recv()
        assert (s_welcome["type"], s_welcome["role"]) == ("welcome", "student")
        assert (t_welcome["role"], t_welcome["status"]) == ("teacher", "active")
        await student.send(
            type="say", text="It sounds like a hard week. How are you?", client_id="c-1"
        )
        done = await student.until(is_end())
        await teacher.until(is_end())
        assert done["type"] == "reply.done" and done["text"]
        assert reply_text(student.events, done["reply_id"]) == done["text"]
        assert done["usage"]["output_tokens"] > 0
        # Identical sequences from the first seq both have in common, but for the events
        # only observers get (the client state): the student's seqs skip just those.
        common = max(student.seqs()[0], teacher.seqs()[0])
        s_tail = [e for e in student.sequenced() if e["seq"] >= common]
        t_tail = [e for e in student_view(teacher.sequenced()) if e["seq"] >= common]
        until = min(s_tail[-1]["seq"], t_tail[-1]["seq"])
        assert [e for e in s_tail if e["seq"] <= until] == [e for e in t_tail if e["seq"] <= until]
        assert_contiguous(teacher.seqs())
        assert any(e["type"] == "client.state" for e in teacher.sequenced())
        said = [e for e in student.events if e["type"] == "message"]
        assert said[0]["client_id"] == "c-1" and said[0]["role"] == "student"


async def test_resume_mid_reply_on_another_worker(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    # An observer sees every event: what the student sees must be exactly its view.
    async with world.connect(session, as_="teacher", worker=last) as observer:
        await observer.recv()
        async with world.connect(session, as_="student", worker=0) as first:
            await first.recv()
            await first.send(
                type="say", text="Tell me about your week, I'm listening.", client_id="c-2"
            )
            start = await first.until(lambda e: e["type"] == "reply.start")
            await first.until(lambda e: e["type"] == "reply.delta")
            cut_at = first.events[-1]["seq"]
        # The student's connection is cut mid-reply; they come back on the other worker.
        async with world.connect(session, as_="student", worker=last, after=cut_at) as second:
            done = await second.until(is_end(start["reply_id"]))
        await observer.until(is_end(start["reply_id"]))
    seen = first.sequenced() + second.sequenced()
    first_seq = seen[0]["seq"]
    expected = [
        e for e in student_view(observer.sequenced()) if first_seq <= e["seq"] <= done["seq"]
    ]
    assert [e["seq"] for e in seen] == [e["seq"] for e in expected]
    assert_contiguous(observer.seqs())
    assert second.sequenced()[0]["seq"] > cut_at
    assert next(e["seq"] for e in expected if e["seq"] > cut_at) == second.sequenced()[0]["seq"]
    assert reply_text(seen, start["reply_id"]) == done["text"]


async def test_concurrent_producers_give_one_gap_free_order(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with (
        world.connect(session, as_="teacher", worker=0) as obs_a,
        world.connect(session, as_="teacher", worker=last) as obs_b,
        world.connect(session, as_="student", worker=last) as student,
    ):
        for sock in (obs_a, obs_b, student):
            await sock.recv()

        async def whispers(sock: Socket, tag: str) -> None:
            for n in range(25):
                await sock.send(type="whisper", text=f"{tag}-{n}")

        await asyncio.gather(
            whispers(obs_a, "a"),
            whispers(obs_b, "b"),
            student.send(type="say", text="Hello, thanks for coming in.", client_id="c-3"),
        )

        def complete(sock: Socket) -> bool:
            texts = {e["text"] for e in sock.events if e.get("role") == "whisper"}
            return len(texts) == 50 and any(is_end()(e) for e in sock.events)

        for sock in (obs_a, obs_b, student):
            async with asyncio.timeout(30):
                while not complete(sock):
                    await sock.recv()
        # Every observer got the same events in the same order, with no gap; the student
        # the same but for the observers-only events.
        base = max(sock.seqs()[0] for sock in (obs_a, obs_b, student))
        orders = [
            [
                (e["seq"], e["type"], e.get("text"))
                for e in student_view(sock.sequenced())
                if e["seq"] >= base
            ]
            for sock in (obs_a, obs_b, student)
        ]
        shortest = min(len(o) for o in orders)
        assert orders[0][:shortest] == orders[1][:shortest] == orders[2][:shortest]
        for sock in (obs_a, obs_b):
            assert_contiguous(sock.seqs())


async def test_stop_keeps_the_partial_reply(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=last) as teacher,
    ):
        await student.recv()
        await teacher.recv()
        await student.send(
            type="say", text="Could you tell me a long story about it all?", client_id="c-4"
        )
        await student.until(lambda e: e["type"] == "reply.delta")
        # The teacher, on the other worker, stops the reply.
        await teacher.send(type="stop")
        done = await student.until(is_end())
        assert done["type"] == "reply.done" and done["stopped"] is True
        assert done["text"] == reply_text(student.events, done["reply_id"])
        stop = [e for e in student.events if e["type"] == "reply.stop"]
        assert stop and stop[0]["by"] == "teacher"
        # Nothing is running now: another stop is refused, and the student may speak again.
        await student.send(type="stop")
        refused = await student.until(lambda e: e["type"] == "error")
        assert refused["code"] == "nothing_to_stop"


async def test_retried_say_is_stored_once(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student", worker=0) as sock:
        await sock.recv()
        await sock.send(type="say", text="Hello there.", client_id="same")
        await sock.until(is_end())
        await sock.send(type="say", text="Hello there.", client_id="same")
        await sock.send(type="ping", nonce="after-retry")
        await sock.until(lambda e: e["type"] == "pong")
    last = len(world.servers) - 1
    async with world.connect(session, as_="student", worker=last) as fresh:
        assert (await fresh.recv())["type"] == "welcome"
        history = [await fresh.until(lambda e: e["type"] == "message") for _ in range(2)]
        await fresh.send(type="ping", nonce="end-of-history")
        await fresh.until(lambda e: e["type"] == "pong")
        history += [e for e in fresh.events[3:] if e["type"] == "message"]
    students = [m for m in history if m["role"] == "student"]
    assert [m["client_id"] for m in students] == ["same"]
    assert [m["role"] for m in history] == ["student", "client"]


async def test_handshake_refusals(world: World) -> None:
    session = world.new_session()
    other = world.new_session()
    with httpx.Client(base_url=world.servers[0].base_url) as http:
        other_teacher = _second_teacher(world, http)
    cases = [
        world.connect(session, as_="student", origin="https://evil.example"),  # WebSocket hijacking
        world.connect(session, as_="student", cookies=httpx.Cookies()),  # nobody
        world.connect(session, as_="student", cookies=other.student_cookies),  # another's student
        world.connect(session, as_="teacher", cookies=other_teacher),  # another teacher
    ]
    for case in cases:
        with pytest.raises(InvalidStatus) as refused:
            async with case:
                pass
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        async with world.connect(session, as_="student", after=-1):
            pass
    unknown = dataclasses.replace(session, id=str(uuid.uuid4()))
    with pytest.raises(InvalidStatus):
        async with world.connect(unknown, as_="student"):
            pass
    # And the rightful student still gets in.
    async with world.connect(session, as_="student") as student:
        assert (await student.recv())["type"] == "welcome"
    assert other.id != session.id


def _second_teacher(world: World, http: httpx.Client) -> httpx.Cookies:
    from tests.support.servers import run_cli

    email = f"other-{uuid.uuid4().hex[:6]}@school.example"
    run_cli(
        ["create-user", "--email", email, "--name", "O", "--password", "other-password"],
        world.env,
        world.cwd,
    )
    login = http.post("/api/auth/login", json={"email": email, "password": "other-password"})
    assert login.status_code == 200
    return login.cookies


async def test_bad_input_answers_errors_and_keeps_the_connection(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student") as sock:
        await sock.recv()
        bad_frames: list[tuple[str, str]] = [
            ("{not json", "bad_json"),
            ('{"type": "dance"}', "unknown_type"),
            ('{"type": "say", "text": "hi"}', "invalid"),
            ('{"type": "say", "text": "' + "x" * 4001 + '", "client_id": "long"}', "text_too_long"),
            ('{"type": "say", "text": "' + "y" * 70_000 + '", "client_id": "huge"}', "too_large"),
            ('{"type": "whisper", "text": "psst"}', "forbidden"),
            ("[1, 2]", "invalid"),
        ]
        for frame, code in bad_frames:
            await sock.conn.send(frame)
            error = await sock.until(lambda e: e["type"] == "error")
            assert error["code"] == code, (frame[:30], error)
            assert "seq" not in error
        await sock.send(type="ping", nonce="still-here")
        pong = await sock.until(lambda e: e["type"] == "pong")
        assert pong["nonce"] == "still-here"
        # Nothing was stored by the refused frames.
        assert not [e for e in sock.events if e["type"] == "message"]


async def test_say_rate_limit_and_abuse_close(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student") as sock:
        await sock.recv()
        for n in range(6):
            await sock.send(type="say", text=f"message {n}", client_id=f"r-{n}")
        codes: list[str] = []
        while len(codes) < 5:
            event = await sock.recv()
            if event["type"] == "error":
                codes.append(event["code"])
        assert codes[-1] == "rate_limited"
        assert set(codes[:-1]) == {"reply_in_progress"}
        # A client that keeps sending garbage is closed with 1008.
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                await sock.conn.send("garbage")
                await sock.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_presence_follows_the_student(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with world.connect(session, as_="teacher", worker=0) as teacher:
        welcome = await teacher.recv()
        assert welcome["presence"] == {"student_online": False, "observers": 1}
        async with world.connect(session, as_="student", worker=last):
            online = await teacher.until(lambda e: e["type"] == "presence" and e["student_online"])
            assert online["observers"] == 1
        offline = await teacher.until(lambda e: e["type"] == "presence" and not e["student_online"])
        assert offline["observers"] == 1
