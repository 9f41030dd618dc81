"""The OpenAI-compatible provider's SSE reading: events taken from the body as the network
hands it over, however it is cut, with CRLF or LF line ends, comments between events and
a last line without its end; an overlong or non-object line refused."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm.openai import _DONE, MAX_SSE_LINE, _request_json, _sse_chunks

BODY = (
    b': keep-alive\n\ndata: {"choices": [{"delta": {"content": "Hi"}}]}\r\n\r\n'
    b'event: ignored\ndata: {"usage": {"prompt_tokens": 3}}\n\ndata: [DONE]\n\n'
    b'data: {"after": "done"}\n\n'
)
EXPECTED = [{"choices": [{"delta": {"content": "Hi"}}]}, {"usage": {"prompt_tokens": 3}}, _DONE]


class _Body:
    """What ``_sse_chunks`` reads of a response: its content, in the blocks given."""

    def __init__(self, blocks: Sequence[bytes]) -> None:
        self.content = self
        self._blocks = blocks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for block in self._blocks:
            yield block


async def read(blocks: Sequence[bytes]) -> list[dict[str, Any]]:
    response = cast(aiohttp.ClientResponse, _Body(blocks))
    return [chunk async for chunk in _sse_chunks(response)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=12))
async def test_any_cut_of_the_body_reads_the_same_events(cuts: list[int]) -> None:
    edges = [0, *sorted(cuts), len(BODY)]
    blocks = [BODY[a:b] for a, b in itertools.pairwise(edges)]
    found = await read(blocks)
    assert found == EXPECTED and found[-1] is _DONE  # nothing after [DONE] is read


async def test_a_last_line_without_its_end_is_read() -> None:
    assert await read([b'data: {"a": ', b"1}"]) == [{"a": 1}]


async def test_an_overlong_line_is_refused() -> None:
    with pytest.raises(ValueError, match="SSE line over"):
        await read([b"data: " + b"x" * MAX_SSE_LINE])


async def test_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        await read([b"data: " + json.dumps([1, 2]).encode() + b"\n\n"])


def test_the_request_body_is_json_that_reads_back_as_sent() -> None:
    body = {"messages": [{"role": "user", "content": 'Grüß "dich"\n\u2028\U0001f600'}], "n": 3}
    assert json.loads(_request_json(body)) == body
    lone = {"content": "half \ud800 a pair"}  # orjson refuses it; json escapes it
    assert _request_json(lone) == json.dumps(lone).encode()
