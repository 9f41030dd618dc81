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
    "spend_limit": "The client cannot answer: the AI provider's spending limit is reached; "
    "tell your teacher",
}

# Codes the retry layer may retry, provided no text has streamed yet.
RETRYABLE_CODES: frozenset[FailureCode] = frozenset({"unavailable", "rate_limited"})


def failure(code: FailureCode, detail: str = "", *, retry_after_s: float | None = None) -> Failed:
    """Build a :class:`Failed` with the standard message and retryability for ``code``.

    ``retry_after_s`` (the provider's requested wait) is kept only when ``code`` is
    retryable: nobody waits to retry the others."""
    retryable = code in RETRYABLE_CODES
    return Failed(
        code=code,
        message=MESSAGES[code],
        retryable=retryable,
        detail=detail,
        retry_after_s=retry_after_s if retryable else None,
    )


# A spending cap or an empty prepaid balance: a 429 that no retry can cure until someone
# pays (Anthropic: rate_limit_error with details.error_code enforced_spend_limit_reached;
# OpenAI: type insufficient_quota with one of these codes). Retrying would only repeat it.
SPEND_LIMIT_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "insufficient_quota",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
        "credit_balance_exhausted",
    }
)


def code_for_status(
    status: int, error_type: str | None = None, error_code: str | None = None
) -> FailureCode:
    """Classify an HTTP status (and the body's error type and code, if any) as a failure
    code.

    ``error_type`` wins over the status because an error sent inside a 200 stream
    (``event: error``) only says what went wrong in its body; a spend-limit type or code
    (:data:`SPEND_LIMIT_CODES`) wins over both.
    """
    if error_type in SPEND_LIMIT_CODES or error_code in SPEND_LIMIT_CODES:
        return "spend_limit"
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
    status: int,
    error_type: str | None,
    detail: str,
    *,
    text_streamed: bool,
    error_code: str | None = None,
    retry_after_s: float | None = None,
) -> Failed:
    """The ``Failed`` for an HTTP error status or an in-stream error event.

    Once text has streamed the reply cannot be retried, so any failure becomes
    ``interrupted`` (the text already yielded stays with the caller).
    ``retry_after_s`` is the response's parsed ``Retry-After``
    (:func:`llm.retry_after.retry_after_seconds`), if any.
    """
    if text_streamed:
        return failure("interrupted", detail)
    code = code_for_status(status, error_type, error_code)
    return failure(code, detail, retry_after_s=retry_after_s)


def failure_for_transport(detail: str, *, text_streamed: bool) -> Failed:
    """The ``Failed`` for a connection error, a timeout or a stream cut short."""
    return failure("interrupted" if text_streamed else "unavailable", detail)
