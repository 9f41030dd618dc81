"""Reading one sample out of a Prometheus text exposition (what ``/metrics`` serves)."""

from __future__ import annotations

import re

__all__ = ["sample"]


def sample(text: str, name: str, labels: str = "") -> float | None:
    """The value of metric ``name{labels}`` in a text exposition, None if absent."""
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return None if found is None else float(found.group(1))
