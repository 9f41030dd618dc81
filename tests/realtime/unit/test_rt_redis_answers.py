"""The script pipe's byte side (``redis_wire.Answers``), fed RESP bytes without a socket:
answers go to the oldest call in order, error answers become redis-py's exception
classes, a cancelled call's answer is dropped, and an answer nobody asked for (or bytes
that are not RESP) closes the connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from realtime.backends.redis_wire import Answers


class Transport:
    """What Answers asks of a transport: that it can be aborted."""

    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


def made(*, decode: bool = True) -> tuple[Answers, list[BaseException], Transport]:
    lost: list[BaseException] = []
    answers = Answers(decode, lost.append)
    transport = Transport()
    answers.connection_made(transport)  # type: ignore[arg-type]
    return answers, lost, transport


def calls(answers: Answers, n: int) -> list[asyncio.Future[Any]]:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(n)]
    answers.waiting.extend(futures)
    return futures


async def test_answers_go_to_the_calls_in_order_even_when_split_across_reads() -> None:
    answers, lost, _ = made()
    first, second, third = calls(answers, 3)
    answers.data_received(b":7\r\n$5\r\nhel")
    assert first.result() == 7 and not second.done()
    answers.data_received(b"lo\r\n*2\r\n$1\r\na\r\n_\r\n")
    assert (second.result(), third.result()) == ("hello", ["a", None])
    assert (answers.answered, lost) == (3, [])


async def test_text_comes_back_as_bytes_when_the_client_does_not_decode() -> None:
    answers, _, _ = made(decode=False)
    (call,) = calls(answers, 1)
    answers.data_received("$2\r\n\u00e9\r\n".encode())
    assert call.result() == "\u00e9".encode()


@pytest.mark.parametrize(
    ("said", "raised", "message"),
    [
        (b"-NOSCRIPT No matching script.", NoScriptError, "No matching script."),
        (b"-LOADING Redis is loading", BusyLoadingError, "Redis is loading"),
        (b"-NOLOG gone", ResponseError, "NOLOG gone"),  # a script's own: kept whole
    ],
)
async def test_an_error_answer_fails_only_its_call_as_redis_py_would_raise_it(
    said: bytes, raised: type[Exception], message: str
) -> None:
    answers, lost, _ = made()
    before, failed, after = calls(answers, 3)
    answers.data_received(b"+OK\r\n" + said + b"\r\n+OK\r\n")
    error = failed.exception()
    assert type(error) is raised and str(error) == message
    assert (before.result(), after.result(), lost) == ("OK", "OK", [])


async def test_the_answer_of_a_cancelled_call_is_read_and_dropped() -> None:
    answers, _, _ = made()
    cancelled, kept = calls(answers, 2)
    cancelled.cancel()
    answers.data_received(b"+first\r\n+second\r\n")
    assert kept.result() == "second"


@pytest.mark.parametrize("said", [b"+nobody asked\r\n", b"?not resp\r\n"])
async def test_an_answer_out_of_turn_closes_the_connection(said: bytes) -> None:
    answers, lost, transport = made()
    answers.data_received(said)
    assert transport.aborted
    assert len(lost) == 1 and isinstance(lost[0], RedisConnectionError)
