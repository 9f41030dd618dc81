"""The realtime layer's knobs, filled from server settings (realtime never reads env)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from realtime.budgets.policy import WIND_DOWN_PERCENT
from realtime.frames import ClientLimits


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    limits: ClientLimits = field(default_factory=ClientLimits)
    # A spoken reply in an interview is a few sentences; 400 tokens is ~300 words.
    reply_max_tokens: int = 400
    # The model's context window; the history is windowed to it (and to the budget left).
    context_tokens: int = 100_000
    # Below this a reply is not worth starting; also the watchdog's "out of tokens" line.
    min_reply_tokens: int = 50
    # Student says per socket: 5 per 10 s is faster than anyone types a considered turn.
    say_rate_count: int = 5
    say_rate_seconds: float = 10.0
    # Refused frames per minute before a socket counts as abusive and is closed (1008).
    abuse_errors_per_minute: int = 20
    # Frames queued for one socket; when the queue stays full for slow_consumer_seconds
    # the client is too slow to serve and is closed (4008) to resume with `after`.
    send_queue_frames: int = 1_000
    slow_consumer_seconds: float = 10.0
    # Heartbeat: presence is refreshed every 10 s and lapses after 30 s without one.
    heartbeat_seconds: float = 10.0
    presence_ttl_seconds: float = 30.0
    # A session's presence is announced at most once in this (joins in between merge into
    # one announcement when it is up; see realtime.presence).
    presence_spacing_seconds: float = 0.25
    # The reply lock is a lease renewed every quarter of it while streaming, so a crashed
    # worker's lock lapses within this (see Settings.reply_lock_seconds).
    reply_lock_seconds: float = 3.0
    # Replies streaming at once per worker, replies waiting for a slot beyond them (a say
    # past both is refused `busy`), and the longest wait (see Settings.max_streaming_replies).
    max_streaming_replies: int = 100
    reply_queue_size: int = 200
    reply_queue_wait_seconds: float = 30.0
    # How long `end`/expiry waits for a running reply to wrap up before flushing anyway.
    stop_grace_seconds: float = 5.0
    # A retried `say` with the same client_id within a day is the same message.
    say_dedupe_seconds: float = 24 * 3600.0
    # Per teacher and calendar month (UTC); None = no cap.
    teacher_monthly_token_cap: int | None = None
    # A worker re-reads a say's profile at most this often: an edit to a profile reaches
    # a running session within 5 s, instead of one SQL query on every say.
    say_memo_seconds: float = 5.0
    # The idle timer's "last activity" is written at most this often per session (the
    # server sets ~1% of the idle limit: 10 s of 900 s) instead of one SQL write per say.
    activity_write_seconds: float = 10.0
    # What a reply the persona checks flag gets: kept with the flag for observers
    # ("flag"), or withdrawn and asked for once more ("regenerate").
    reply_integrity: Literal["flag", "regenerate"] = "flag"
    # Wind the conversation down once either budget is this far spent.
    wind_down_percent: int = WIND_DOWN_PERCENT
