"""redis-py's asyncio connections with their commands packed by hiredis in one call.

redis-py 8 packs a command through hiredis too, but first runs its own encoder over every
argument in Python: 32.7 against 2.1 us for an append's ``EVALSHA`` (nine arguments),
197.6 against 29.3 us for a stream reader's ``XREAD`` over 50 sessions, which a worker
streaming 50 replies sends ~180 times a second. hiredis encodes ``str`` as UTF-8 (strict)
and ``int``, ``float`` and ``bytes`` as redis-py does, byte for byte; anything else (a
``bool``, ``None``, a ``memoryview``), and any encoding other than strict UTF-8, goes the
library's own way, which accepts or refuses it as before.
"""

from __future__ import annotations

from typing import Any, cast

from hiredis import pack_command
from redis.asyncio.connection import AbstractConnection

__all__ = ["hiredis_packing"]

_PLAIN = (str, int, float, bytes)
_UTF8 = frozenset({"utf-8", "utf8", "UTF-8", "UTF8"})


def hiredis_packing(base: type[AbstractConnection]) -> type[AbstractConnection]:
    """``base`` (a plain, TLS or Unix socket connection class) packing with hiredis; one
    class per base, however many clients ask."""
    if base in _MADE.values():
        return base  # packs with hiredis already
    made = _MADE.get(base)
    if made is None:
        made = _MADE[base] = _packing(base)
    return made


#: The classes made so far, by base (a handful: they are classes, not connections).
_MADE: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _packing(base: type[AbstractConnection]) -> type[AbstractConnection]:
    class Packing(base):  # type: ignore[valid-type, misc]
        def pack_command(self, *args: Any) -> list[bytes]:
            encoder = self.encoder
            if encoder.encoding not in _UTF8 or encoder.encoding_errors != "strict":
                return cast(list[bytes], super().pack_command(*args))
            name = args[0] if args else None
            # A command named in two words ("CLIENT UNBLOCK") goes as two arguments, as
            # redis-py sends it.
            if (isinstance(name, str) and " " in name) or (
                isinstance(name, bytes) and b" " in name
            ):
                args = (*name.split(), *args[1:])
            # bool is an int to hiredis, not to redis-py (which refuses it): exact types.
            if args and all(type(arg) in _PLAIN for arg in args):
                return [pack_command(args)]
            return cast(list[bytes], super().pack_command(*args))

    Packing.__name__ = Packing.__qualname__ = f"HiredisPacking{base.__name__}"
    return cast(type[AbstractConnection], Packing)
