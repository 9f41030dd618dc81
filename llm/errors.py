"""Provider failures in our own words: one table from HTTP status to :class:`Failed`.

Both HTTP providers translate their SDK or transport errors through these
functions, so ``anthropic.py`` and ``openai.py`` agree on what is retryable and
on the sentence a student sees. Everything here is pure.
"""

from __future__ import annotations

from llm.base import Failed, FailureCode

# Sentences safe to show to a student; ``Failed.detail`` keeps the technical reason.
MESSAGES: dict[FailureCode, str] = {
    "unavailable": "The client is unavailable right now, try again",
    "rate_limited": "The client is busy right now, try again in a moment",
    "interrupted": "The client's reply was interrupted",
    "bad_request": "The client could not answer that message",
    "internal": "Something went wrong while the client was answering",
}

# Codes the retry layer may retry, provided no text has streamed yet.
RETRYABLE_CODES: frozenset[FailureCode] = frozenset({"unavailable", "rate_limited"})


def failure(code: FailureCode, detail: str = "") -> Failed:
    """Build a :class:`Failed` with the standard message and retryability for ``code``."""
    retryable = code in RETRYABLE_CODES
    return Failed(code=code, message=MESSAGES[code], retryable=retryable, detail=detail)


def code_for_status(status: int, error_type: str | None = None) -> FailureCode:
    """Classify an HTTP status (and the body's error type, if any) as a failure code.

    ``error_type`` wins when present because an error sent inside a 200 stream
    (``event: error``) only says what went wrong in its body.
    """
    by_type: dict[str, FailureCode] = {
        "overloaded_error": "unavailable",
        "api_error": "unavailable",
        "server_error": "unavailable",
        "timeout_error": "unavailable",
        "rate_limit_error": "rate_limited",
        "rate_limit_exceeded": "rate_limited",
        "invalid_request_error": "bad_request",
        "request_too_large": "bad_request",
    }
    if error_type in by_type:
        return by_type[error_type]
    if status == 429:
        return "rate_limited"
    if status in (408, 409) or status >= 500:
        return "unavailable"
    if status in (400, 413, 422):
        return "bad_request"
    # 401/403/404 and the rest: a configuration problem, retrying will not help.
    return "internal"


def failure_for_status(
    status: int, error_type: str | None, detail: str, *, text_streamed: bool
) -> Failed:
    """The ``Failed`` for an HTTP error status or an in-stream error event.

    Once text has streamed the reply cannot be retried, so any failure becomes
    ``interrupted`` (the text already yielded stays with the caller).
    """
    if text_streamed:
        return failure("interrupted", detail)
    return failure(code_for_status(status, error_type), detail)


def failure_for_transport(detail: str, *, text_streamed: bool) -> Failed:
    """The ``Failed`` for a connection error, a timeout or a stream cut short."""
    return failure("interrupted" if text_streamed else "unavailable", detail)
