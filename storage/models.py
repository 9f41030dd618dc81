"""The SQL data model (system of record). Timestamps are UTC; sessions have UUID keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # "teacher" | "admin"
    password_hash: Mapped[str] = mapped_column(String(255))
    # Carried in the signed teacher cookie; logout and a password change bump it, so
    # every cookie issued before stops working at once (checked on each request and each
    # socket handshake against this row, read by primary key).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Per-teacher monthly caps an admin sets (since 0005); None falls back to
    # TEACHER_MONTHLY_TOKEN_CAP for tokens and to no cap for money.
    monthly_token_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: In millionths of the catalog's currency.
    monthly_cost_micros_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFact(TypedDict):
    """One hidden fact as a profile's ``hidden_facts`` JSON list holds it (since 0003)."""

    #: The teacher's note, in any person.
    fact: str
    #: How the client would say it, in the first person; "" when not given.
    disclosure: str
    #: Words or themes that make it relevant.
    topics: list[str]
    #: The client's trust (0 to 100) it takes before this can come out.
    trust_needed: int


class ClientProfile(Base):
    """A client a teacher authored. ``hidden_facts`` keeps the teacher's order;
    ``style`` is one of ``llm.base.STYLES`` (checked by the API, which owns the list)."""

    __tablename__ = "client_profiles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pronouns: Mapped[str] = mapped_column(String(50), default="")
    background: Mapped[str] = mapped_column(Text, default="")
    presenting_problem: Mapped[str] = mapped_column(Text, default="")
    personality: Mapped[str] = mapped_column(Text, default="")
    communication_style: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[str] = mapped_column(Text, default="")
    hidden_facts: Mapped[list[StoredFact]] = mapped_column(JSON, default=list)
    difficulty: Mapped[int] = mapped_column(Integer, default=3)
    opening_line: Mapped[str] = mapped_column(Text, default="")
    style: Mapped[str] = mapped_column(String(20), default="plain", server_default="plain")
    #: Topics the client deflects.
    avoid: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: A model catalog id the session form preselects (since 0005).
    default_model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Rubric(Base):
    __tablename__ = "rubrics"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="rubric",
        cascade="all, delete-orphan",
        order_by="RubricCriterion.position",
        lazy="selectin",
    )


class RubricCriterion(Base):
    __tablename__ = "rubric_criteria"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    rubric_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rubrics.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # [{"score": int, "descriptor": str}, ...], highest score first.
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")


class Session(Base):
    """One interview. Time accounting: ``active_seconds`` is active time banked by
    earlier pauses; while active, ``active_since`` marks when the current stretch began."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_owner_status", "owner_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client_profiles.id"), index=True)
    rubric_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rubrics.id"), index=True)
    student_name: Mapped[str] = mapped_column(String(200))
    student_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    token_budget: Mapped[int] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    instructions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="created", index=True)
    end_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Changes whenever the join link is regenerated; old links and cookies stop working.
    join_nonce: Mapped[str] = mapped_column(String(64))
    # Optimistic concurrency: every transition bumps it, so two racing workers
    # (or watchdogs) cannot both apply one.
    version: Mapped[int] = mapped_column(Integer, default=1)
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    tokens_used: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Attempts (since 0005): a restart creates a new session row whose ``attempt_of`` is
    # the first attempt's id, with a fresh clock and budget; the old row keeps its
    # transcript, evaluation and usage.
    attempt_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    student_may_restart: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class Message(Base):
    """A complete message of a transcript. ``(session_id, seq)`` makes flushing idempotent."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))  # student | client | whisper
    text: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reply_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionEvent(Base):
    """The audit trail. ``seq`` is set for events that came through the live log."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiUsage(Base):
    """One LLM provider call."""

    __tablename__ = "api_usage"
    __table_args__ = (
        Index("ix_api_usage_owner_created", "owner_id", "created_at"),
        # The flusher's rows are keyed by the log's seq (since 0006): a replay stores once.
        Index("uq_api_usage_session_id_seq", "session_id", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    time_to_first_token_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20))
    #: The catalog entry the call used (since 0005); None without a catalog id.
    model_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: Millionths of ``currency`` from the catalog's prices at call time; None = unpriced.
    cost_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    #: The seq of the ``reply.usage`` event the flusher stored this row from; None for a
    #: row written directly (the grader's calls) or before 0006.
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """The feedback on one session (at most one per session): the grader's result and
    the teacher's review of it.

    ``result`` is the grader's work as the API serves it, before review: ``grader``,
    ``criteria`` (each with its ``automatic_score``, rationale, evidence), ``metrics``,
    ``coverage`` and ``alternatives``; None until a run stores one (a failed LLM grading
    keeps the automatic part). ``rubric`` is the criteria graded against, as they were
    then (the rubric may change later). ``overrides`` maps a criterion's name to the
    teacher's ``{"score", "comment", "by", "at"}``; the automatic score stays in ``result``.

    Jobs: ``pending`` rows are claimed by one worker (``running``, ``claimed_at``,
    ``claimed_by``, ``attempts`` + 1) with an optimistic ``version`` check; a claim older
    than the lease is taken over; a worker stores its result only if ``version`` is still
    the one its claim set. ``session_ended_at`` is the session end this evaluation is
    for: a session reopened and ended again is evaluated again.
    """

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_status_claimed_at", "status", "claimed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), unique=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending|running|done|failed
    grader: Mapped[str] = mapped_column(String(20), default="automatic")  # automatic | llm
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    session_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProfileFile(Base):
    """A case file attached to a client profile (since 0005). The bytes live in the file
    store under ``storage_key`` (UUID-namespaced); a row whose object is gone, or an
    object no row names, is reported or removed by ``vclient files cleanup``."""

    __tablename__ = "profile_files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("client_profiles.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    #: Detected from the content, never taken from the upload's name or header.
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    visible_to_students: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
