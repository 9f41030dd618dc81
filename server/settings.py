"""All configuration, read from environment variables (and an optional ``.env`` file).

Each bound is a named setting with the reason for its default beside it; the README
lists them all.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=False)

    # Where the SQLite database and the generated secret key live by default.
    data_dir: Path = Path("var")
    database_url: str = ""  # empty -> sqlite file in data_dir
    redis_url: str | None = None  # unset -> in-process realtime backend
    redis_key_prefix: str = "vc"
    # Events kept per session for resuming (realtime.backends.base.DEFAULT_WINDOW says why
    # 2,000); a client that missed more is told to reload and is served from SQL.
    live_window_events: int = 2_000
    # SQL connections per process. The say path uses one for ~1 ms at a time and the
    # flusher one per 0.25 s; 20 + 20 overflow carried 100 live sessions and a
    # 1,000-socket connect storm in the benchmark without a wait reaching 1 s. A checkout
    # waits up to DB_POOL_TIMEOUT_SECONDS before failing (then the caller answers
    # `unavailable` and the client retries). Keep workers x (size + overflow) under
    # PostgreSQL's max_connections (100 by default).
    db_pool_size: int = 20
    db_max_overflow: int = 20
    db_pool_timeout_seconds: float = 30.0
    # On SIGTERM: sockets are closed with 1012 at once (clients resume on another
    # worker), and replies still streaming get this long to finish before they are cut
    # and stored as interrupted.
    shutdown_grace_seconds: float = 10.0
    # uvicorn's concurrency limit: HTTP requests in flight plus open sockets. Past it, new
    # HTTP requests get 503 (pages, /readyz too); socket handshakes are not refused by it
    # (WS_MAX_SOCKETS_* cap those). Unset (the default): no limit.
    max_connections: int | None = None

    secret_key: str | None = None  # unset -> generated once, kept in data_dir/secret_key
    # Comma-separated origins allowed for browser writes and WebSocket handshakes,
    # besides the server's own origin (taken from the Host header).
    allowed_origins: str = ""
    # Set on HTTPS deployments so cookies never travel in clear text.
    cookie_secure: bool = False

    # The model catalog (a TOML file, see docs/models.md): several models at once, each
    # with its provider, key variable, windows and prices. Unset: the one model that
    # LLM_PROVIDER / LLM_MODEL and the keys below name (unpriced).
    llm_catalog: str | None = None  # a path; empty = unset
    llm_provider: Literal["scripted", "anthropic", "openai", "mistral"] = "scripted"
    llm_model: str | None = None  # None -> the provider's default model
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    mistral_api_key: str | None = None
    mistral_base_url: str | None = None
    # ~ a brisk typist; makes the offline demo feel like a live model.
    scripted_tokens_per_second: float = 20.0
    llm_timeout_seconds: float = 60.0
    llm_max_retries: int = 3

    # Limits policy (from our users' practice: a 5-minute drill to a 3-hour exam).
    session_min_seconds: int = 300
    session_max_seconds: int = 10_800
    token_budget_min: int = 1_000
    token_budget_max: int = 200_000

    # A profile with long background text is ~20 KB; 256 KiB leaves room without
    # letting one request pin memory.
    max_body_bytes: int = 262_144
    # Login throttling: 5 wrong passwords per account and 20 per address per 15 min
    # stops guessing while a class sharing one NAT address can still log in.
    login_failures_per_email: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: int = 900

    # Socket limits.
    say_max_chars: int = 4_000
    frame_max_bytes: int = 65_536
    say_rate_count: int = 5
    say_rate_seconds: float = 10.0
    # Frames queued per socket (~1,000 is several full replies); a socket whose queue
    # stays full for WS_SLOW_CONSUMER_SECONDS is closed with 4008 and resumes with `after`.
    # 10 s rides out a phone switching networks without holding memory for a dead one.
    ws_send_queue_frames: int = 1_000
    ws_slow_consumer_seconds: float = 10.0
    # Presence heartbeat: refreshed every HEARTBEAT_SECONDS, lapses after
    # PRESENCE_TTL_SECONDS without one (a killed worker's sockets vanish within ~30 s).
    heartbeat_seconds: float = 10.0
    presence_ttl_seconds: float = 30.0
    # A session's presence is announced at most once per PRESENCE_SPACING_SECONDS: the
    # joins of a storm merge into a few announcements (each a frame to every socket).
    presence_spacing_seconds: float = 0.25
    # WebSocket protocol pings: a peer that stops answering is dropped within ~30 s.
    ws_ping_seconds: float = 15.0
    # permessage-deflate on session sockets. Off: its zlib state costs ~38 KB per open
    # socket (measured: 64 against 26 KB per idle socket of a bare app under uvicorn) and
    # CPU on every frame, to shrink frames that are mostly ~100-byte token deltas. On for
    # links where bandwidth costs more than server memory.
    ws_compression: bool = False
    # Open session sockets per worker process (server/socketcaps.py), closed with 4029 over
    # the cap. Both sit above the connect storm's 1,000 observers of one session by one
    # teacher through one load balancer (bench/storm.py), whose X-Forwarded-For is only
    # trusted when FORWARDED_ALLOW_IPS names it; a real teacher's grid in a few tabs is ~100.
    ws_max_sockets_per_user: int = 1_500
    ws_max_sockets_per_address: int = 3_000

    # Replies and budgets.
    # A spoken reply in an interview is a few sentences; 400 tokens is ~300 words.
    reply_max_tokens: int = 400
    # The least a reply may be; when what is left cannot pay for the next call's input
    # plus this, the session expires (reason "tokens").
    min_reply_tokens: int = 50
    # No student activity for this long ends an active session (reason "idle").
    session_idle_seconds: float = 900.0
    # Watchdog scan period: expiry is at most this late (the issue asks for <= 1 s).
    watchdog_interval_seconds: float = 0.5
    # A reply's budget hold and its lock outlive a crashed worker by at most this long;
    # both are refreshed/settled by a live one. 180 s covers the longest reply.
    reservation_ttl_seconds: float = 180.0
    # The reply lock is a short lease renewed every quarter of it while a reply streams:
    # a killed worker's lease lapses within 3 s and its reply is closed as interrupted
    # within ~3.75 s, so the next say is accepted within 5 s of the crash; 3 s still
    # rides out a 2 s event-loop stall without losing the lease.
    reply_lock_seconds: float = 3.0
    # Replies streaming from the provider at once per worker. A bare app streaming the same
    # upstream (60 tokens/s, a chunk every 50 ms) carries ~100 streams on one core with p99
    # chunk latency under 50 ms; past that every stream slows together, so the 101st reply
    # waits for a slot instead. Normal load stays below it (issue 12 measured ~25 a worker).
    max_streaming_replies: int = 100
    # Replies waiting for a slot per worker beyond those; a say that finds the queue full
    # is refused with `busy` and stores nothing. 200 is two rounds of 100 slots: with
    # replies of at most 400 tokens (~7 s at 60 tokens/s) a reply waits ~14 s at worst.
    reply_queue_size: int = 200
    # The longest a queued reply waits for a slot (twice that worst case) before it ends
    # as `reply.error` `unavailable` (the student's message stays; they may send again).
    reply_queue_wait_seconds: float = 30.0
    # A client reply the persona checks flag (speaking as an AI, counselling the student,
    # quoting the prompt or a locked fact, third person, empty or runaway): "flag" keeps it
    # and shows the flag to observers; "regenerate" withdraws it and asks once more.
    reply_integrity: Literal["flag", "regenerate"] = "flag"
    # Per teacher and calendar month (UTC); unset = no cap. New sessions and new replies
    # beyond it are refused with a clear message.
    teacher_monthly_token_cap: int | None = None
    # Run the watchdog inside each web process (the single-process default). With a
    # separate `vclient watchdog` process, set false. However many run, one scans at a
    # time: the holder of the deployment's watchdog lease (realtime/duty.py).
    watchdog_in_process: bool = True

    # Transcripts (write-behind to SQL). Run the flusher loop inside each web process
    # (the single-process default; required with the in-process backend). With a
    # separate `vclient flusher`, set false. However many run, one scans at a time: the
    # holder of the deployment's flusher lease (realtime/duty.py).
    flusher_in_process: bool = True
    # Flush period: the promise is "in SQL within 2 s"; 0.25 s leaves room for slow commits.
    flush_interval_seconds: float = 0.25
    # Durable events per SQL transaction (~1 MB at worst with 4,000-char texts).
    flush_batch_events: int = 500
    # An ended, flushed session's live keys expire this much later (late reconnects still
    # resume); then clients are served from SQL.
    live_keys_after_end_seconds: float = 3_600.0
    # Sessions per transcripts.zip; a bigger match is refused (422) rather than tying up
    # a worker: 200 long sessions is ~100 MB of JSON at worst, streamed one at a time.
    transcript_export_max_sessions: int = 200

    # Evaluation (feedback once a session ends). GRADER_PROVIDER "automatic" is the offline
    # skill coder alone; "anthropic" / "openai" add an LLM grader that uses the keys and
    # base URLs above with its own model (GRADER_MODEL; unset: the provider's default).
    grader_provider: Literal["automatic", "anthropic", "openai"] = "automatic"
    grader_model: str | None = None
    # ~10 criteria with rationales, three quotes each and three alternatives is ~1,500
    # tokens of JSON; 2,000 leaves room without paying for a runaway answer.
    grader_max_tokens: int = 2_000
    # Run the evaluation loop in each web process (`vclient watchdog` runs one too; any
    # number may run: each evaluation is claimed by one).
    evaluation_in_process: bool = True
    # Idle poll period of the loop (one indexed query); an end in the same process wakes
    # it at once, so 1 s only bounds the wait for an end seen by another process.
    evaluation_interval_seconds: float = 1.0
    # A claim this old belongs to a dead or hung worker and is taken over; one
    # evaluation (two grader calls at most) is cut off at EVALUATION_JOB_SECONDS, below it.
    evaluation_lease_seconds: float = 120.0
    evaluation_job_seconds: float = 100.0

    # Operations. GET /metrics answers loopback callers, and others presenting this as
    # `Authorization: Bearer ...` (unset: loopback only); anyone else gets 404.
    metrics_token: str | None = None
    # `vclient watchdog` and `vclient flusher` have no HTTP port of their own: with
    # METRICS_PORT set they serve GET /metrics there (the same rules), on METRICS_HOST
    # (loopback by default; 0.0.0.0 and a METRICS_TOKEN for a scraper on another host).
    # The web processes ignore both: their /metrics is on their own port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Logs: "json" (one object per line), "text", or "auto" (text when stderr is a
    # terminal, else JSON). LOG_LEVEL: a logging level name.
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"

    # Case files (docs/files.md). FILE_STORE "local" keeps them in DATA_DIR/files, beside
    # the SQLite default; "s3" in an S3-compatible bucket (S3_ENDPOINT_URL, S3_BUCKET,
    # S3_REGION, and the keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    file_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    # A scanned 10-page referral letter is ~2-5 MB as a PDF, a phone photo ~3 MB:
    # 10 MiB fits both; an upload past it is cut off at 10 MiB + 64 KiB of form overhead.
    max_file_bytes: int = 10_485_760
    # A case file is a letter, notes and a few images; 20 per profile is ample and
    # bounds one profile at 200 MiB.
    max_files_per_profile: int = 20
    # `vclient files cleanup` removes an unreferenced object only when it is older than
    # this: an upload commits its row milliseconds after writing its object, so an hour
    # is a wide margin, and an orphan costs storage for an hour at most past a run.
    files_cleanup_grace_seconds: float = 3_600.0

    @model_validator(mode="after")
    def _check_evaluation_bounds(self) -> Settings:
        if self.evaluation_job_seconds >= self.evaluation_lease_seconds:
            raise ValueError("EVALUATION_JOB_SECONDS must be below EVALUATION_LEASE_SECONDS")
        return self

    @model_validator(mode="after")
    def _check_bounds(self) -> Settings:
        if self.session_min_seconds > self.session_max_seconds:
            raise ValueError("SESSION_MIN_SECONDS must not exceed SESSION_MAX_SECONDS")
        if self.token_budget_min > self.token_budget_max:
            raise ValueError("TOKEN_BUDGET_MIN must not exceed TOKEN_BUDGET_MAX")
        if self.max_streaming_replies < 1 or self.reply_queue_size < 0:
            raise ValueError("MAX_STREAMING_REPLIES must be >= 1 and REPLY_QUEUE_SIZE >= 0")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vclient.db').as_posix()}"

    @property
    def files_dir(self) -> Path:
        """The local file store's directory."""
        return self.data_dir / "files"

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )

    def resolved_secret_key(self) -> str:
        """The signing key: the setting, or one generated on first run and kept on disk
        (mode 0600) so cookies survive restarts. Never a hard-coded value."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written whole under a private name, then linked into place: `serve --workers
            # N` on a fresh data directory starts N processes here at once; a link fails
            # if another got there first, so every worker ends up reading one key (a
            # check-then-write left each its own, and cookies failing on the others).
            draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(48))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        self.secret_key = path.read_text().strip()
        return self.secret_key


def limits_doc(settings: Settings) -> dict[str, int]:
    return {
        "time_limit_seconds_min": settings.session_min_seconds,
        "time_limit_seconds_max": settings.session_max_seconds,
        "token_budget_min": settings.token_budget_min,
        "token_budget_max": settings.token_budget_max,
    }


__all__ = ["Settings", "limits_doc"]
