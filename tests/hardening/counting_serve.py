"""``vclient`` with every SQL statement it runs written to ``$SQL_STATEMENT_LOG``, one line
each: the request id it ran for (``-`` for background work such as the flusher) and the
statement's first words. The reconnect storm counts SQL queries per socket with it (an
SQLAlchemy event listener on every engine of the process; nothing else changes)."""

from __future__ import annotations

import os
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.cli import main
from server.logging_setup import request_id

_LOG = open(os.environ["SQL_STATEMENT_LOG"], "a", buffering=1)  # noqa: SIM115 - process-long


@event.listens_for(Engine, "before_cursor_execute")
def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    words = " ".join(statement.split())[:100]
    _LOG.write(f"{request_id.get() or '-'}\t{words}\n")


if __name__ == "__main__":
    sys.exit(main())
