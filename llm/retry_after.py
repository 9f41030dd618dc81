"""The provider's own "wait this long" of an error response, read safely.

Providers say how long to back off in one of two headers:

* ``retry-after-ms``: milliseconds, non-standard, sent by OpenAI and by Anthropic; the
  more precise of the two, so it wins when it parses;
* ``Retry-After`` (RFC 9110, section 10.2.3): delta-seconds or an HTTP-date. Fractional
  seconds are accepted (the Anthropic SDK does the same), although the RFC allows only
  integers.

Anything else (a negative number, NaN, infinity, words, an unparsable date) means "no
advice" and the caller falls back on its own backoff. A date in the past means "now"
(0 s). Everything here is pure: the current time is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds"]

# Headers longer than this are not a number or a date; not worth parsing.
_MAX_HEADER_CHARS = 64


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, or None when it gave no usable advice.

    ``headers`` is looked up in lower case (``httpx.Headers`` and the SDKs' ``httpx2``
    headers ignore case anyway); ``now`` (aware, default the current UTC time) is only
    used for an HTTP-date. Never raises.
    """
    millis = _non_negative_number(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    seconds = _non_negative_number(value)
    if seconds is not None:
        return seconds
    return _seconds_until_date(value, now or datetime.now(UTC))


def _non_negative_number(value: str | None) -> float | None:
    if value is None or len(value) > _MAX_HEADER_CHARS:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _seconds_until_date(value: str | None, now: datetime) -> float | None:
    if value is None or len(value) > _MAX_HEADER_CHARS:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322 for "UTC, source unknown"
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
