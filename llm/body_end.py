"""Reading a streamed reply's HTTP body to its end once the protocol's last event came.

A reply's stream ends twice: the protocol's last event (OpenAI's ``data: [DONE]``,
Anthropic's ``message_stop``), then the body's end (the empty chunk of a chunked body).
The HTTP client gives a connection back to its pool only when it has read the body's end;
closing the response between the two closes the connection. Every reply then opened a new
one: a TCP handshake before each request, and to a hosted API a TLS handshake too
(tens of milliseconds before the model sees the student's turn), and a socket in
TIME_WAIT per reply on both sides. Servers send the body's end right behind the last
event, so reading on costs nothing in the common case; a server that keeps the body open,
or goes on sending, gets its connection closed as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

__all__ = ["END_MAX_ITEMS", "END_SECONDS", "read_to_end"]

#: How long the body's end may lag the last event. It normally shares its TCP segment;
#: 0.5 s delays a finished reply's ``Done`` at most that long, only on a server that
#: holds the body open, and then only once per connection (it is not kept).
END_SECONDS = 0.5
#: Items (lines, events) allowed after the last event: blank separators and keep-alive
#: comments are a few; more means the server is not ending the body.
END_MAX_ITEMS = 16


async def read_to_end(
    rest: AsyncIterator[object], *, seconds: float | None = None, max_items: int = END_MAX_ITEMS
) -> bool:
    """Consume ``rest`` (what follows the last event) to its end: True when the body ended
    within ``seconds`` (default :data:`END_SECONDS`) and ``max_items``, so the connection
    can be reused.

    Never raises but for cancellation: the reply is complete whatever happens here, so a
    transport error or a malformed tail only costs the connection.
    """
    try:
        async with asyncio.timeout(END_SECONDS if seconds is None else seconds):
            count = 0
            async for _ in rest:
                count += 1
                if count > max_items:
                    return False
    except Exception:  # see the docstring: the reply is already complete
        return False
    return True
