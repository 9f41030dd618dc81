"""The evaluation job: the I/O around the pure core, one loop per process.

When a session ends (``SessionControl.after_transition``, after the end is committed and
published; the before-end hook has flushed the transcript to SQL), :meth:`session_ended`
inserts a pending evaluation: one idempotent INSERT, nothing more, so the end is never
held up and no socket waits for grading. The loop (:meth:`EvaluationJobs.run`) claims
pending rows one at a time, atomically (``storage.repos.evaluations``), so any number of
processes may run it; a claim older than the lease (its worker died or hung) is taken
over, so after a restart any worker finishes what a dead one started.

One job: read the transcript, the rubric, the profile's hidden facts and the session's
``client_state`` audit rows from SQL; :func:`evaluate_offline`; then, with an LLM grader
configured and a transcript in which the student spoke, ask the grader
(:func:`build_grader_prompt`, :func:`llm.completion.complete`), check its answer
(:func:`parse_grader_output`) and, once, ask again with :func:`retry_prompt` after a
refused answer. Each grader call is recorded in the API-usage table under the session's
teacher; the session's own token count and budget are never touched. A grader that
fails (the provider, or two refused answers) leaves the evaluation ``failed`` with the
reason and the automatic result stored, so the teacher still sees the metrics and can
ask again. A job that breaks (the database, its time limit) is given back, pending again,
until ``max_attempts``; then it is failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from evaluation.grader_prompt import (
    GRADER_RETRIES,
    GraderRejection,
    GraderResult,
    build_grader_prompt,
    parse_grader_output,
    retry_prompt,
)
from evaluation.loading import EvaluationInputs, inputs_from, stored_result
from evaluation.report import Evaluation, evaluate_offline, with_grader_result
from llm.base import ChatMessage
from llm.catalog import Catalog, cost_micros
from llm.completion import Completer, Completion, CompletionRequest, complete
from llm.retry import RetryPolicy
from storage.db import Database
from storage.models import Session
from storage.repos import evaluations as evaluation_repo
from storage.repos import profiles as profile_repo
from storage.repos import rubrics as rubric_repo
from storage.repos import sessions as session_repo
from storage.repos import transcripts as transcript_repo
from storage.repos import usage as usage_repo
from storage.repos.flushing import ENDED_STATUSES
from storage.types import utcnow

__all__ = ["EvaluationJobs", "JobPolicy", "LLMGrader", "worker_name"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobPolicy:
    # Idle poll period. An end in this process wakes the loop at once; 1 s bounds the
    # wait for a job made elsewhere (another worker, the watchdog) to one cheap query.
    interval_seconds: float = 1.0
    # A running claim older than this is a dead or hung worker's: any worker takes it.
    lease_seconds: float = 120.0
    # One job's limit (two grader calls at most), below the lease so a live worker's
    # claim never looks dead.
    job_seconds: float = 100.0
    # Claims per evaluation before it is failed: a job that kills its worker, or the
    # database failing it three times, should not loop forever.
    max_attempts: int = 3
    # Backoff after failed rounds: interval x 2^failures, at most this.
    backoff_max_seconds: float = 30.0
    # Sessions that ended this recently without an evaluation (their process died
    # between the end and its hook) are given one; checked every ``sweep_seconds``.
    sweep_window_seconds: float = 3_600.0
    sweep_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class LLMGrader:
    completer: Completer
    #: None: the completer's default model.
    model: str | None = None
    # A rubric of ~10 criteria with rationales, three quotes each and three
    # alternatives is ~1,500 tokens of JSON; 2,000 leaves room without runaway cost.
    max_tokens: int = 2_000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Prices the grader's calls when an entry serves the same provider and model (None,
    #: or no such entry: the calls are recorded unpriced).
    catalog: Catalog | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str
    evaluation: Evaluation
    error: str | None = None


def worker_name() -> str:
    """Who holds a claim, for the audit: host, process and a per-loop suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EvaluationJobs:
    def __init__(
        self,
        db: Database,
        policy: JobPolicy | None = None,
        grader: LLMGrader | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        worker: str | None = None,
    ) -> None:
        self._db = db
        self.policy = policy or JobPolicy()
        self._grader = grader
        self._now = now
        self._sleep = sleep
        self.worker = worker or worker_name()
        self._wake = asyncio.Event()
        self._swept_at: datetime | None = None

    async def session_ended(self, session: Session, _action: object, _reason: str | None) -> None:
        """A ``SessionControl.after_transition`` hook: a pending evaluation for an ended
        session (idempotent), and a nudge to this process's loop. Never raises: the end is
        already committed, and the sweep (or the teacher) makes a missed one later."""
        if session.status not in ENDED_STATUSES:
            return
        try:
            async with self._db.session() as db:
                made = await evaluation_repo.ensure_pending(
                    db, session, self._now(), ended_at=session.ended_at
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not queue the evaluation of session %s", session.id)
            return
        if made:
            self._wake.set()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until ``stop`` is set; the job in hand finishes first.
        Cancelling is safe: the claim lapses after the lease and another worker (or this
        one, restarted) takes it over."""
        failures = 0
        while not stop.is_set():
            try:
                await self.sweep()
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                worked = False
                log.warning(
                    "evaluation round failed (%d in a row): %s",
                    failures,
                    f"{type(error).__name__}: {error}"[:300],
                    exc_info=failures == 1,
                )
            else:
                failures = 0
            if not worked:
                await self._nap(stop, self._delay(failures))

    def _delay(self, failures: int) -> float:
        if not failures:
            return self.policy.interval_seconds
        backoff: float = self.policy.interval_seconds * 2.0 ** min(failures, 16)
        return min(self.policy.backoff_max_seconds, backoff)

    async def _nap(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait until ``stop``, a wake-up or ``seconds``, whichever comes first."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        self._wake.clear()

    async def sweep(self, *, force: bool = False) -> None:
        """Queue an evaluation for each session that ended lately without one (its process
        died between the end and the hook); at most every ``sweep_seconds`` unless
        ``force``. Raises what the database raises."""
        now = self._now()
        interval = timedelta(seconds=self.policy.sweep_seconds)
        if not force and self._swept_at is not None and now - self._swept_at < interval:
            return
        self._swept_at = now
        since = now - timedelta(seconds=self.policy.sweep_window_seconds)
        async with self._db.session() as db:
            for session in await evaluation_repo.ended_without_evaluation(db, since, limit=100):
                await evaluation_repo.ensure_pending(db, session, now, ended_at=session.ended_at)

    async def run_once(self) -> bool:
        """Claim one job and run it to its end; False when there was none to claim.

        Raises what the database raises while claiming, and re-raises what broke a job
        after giving it back (pending again, or failed after ``max_attempts``)."""
        async with self._db.session() as db:
            claim = await evaluation_repo.claim_next(
                db,
                self._now(),
                lease_seconds=self.policy.lease_seconds,
                worker=self.worker,
                max_attempts=self.policy.max_attempts,
            )
        if claim is None:
            return False
        try:
            async with asyncio.timeout(self.policy.job_seconds):
                outcome, rubric = await self._evaluate(claim)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"[:500]
            log.warning("evaluation of session %s broke: %s", claim.session_id, problem)
            async with self._db.session() as db:
                await evaluation_repo.give_back(
                    db, claim, self._now(), max_attempts=self.policy.max_attempts, error=problem
                )
            raise
        async with self._db.session() as db:
            stored = await evaluation_repo.finish(
                db,
                claim,
                self._now(),
                status=outcome.status,
                grader=outcome.evaluation.grader.value,
                result=stored_result(outcome.evaluation),
                rubric=rubric,
                error=outcome.error,
            )
        if not stored:
            log.info("evaluation of session %s was taken over; result dropped", claim.session_id)
        return True

    # -- one job ----------------------------------------------------------------------------

    async def _evaluate(
        self, claim: evaluation_repo.Claim
    ) -> tuple[_Outcome, list[dict[str, Any]]]:
        inputs, rubric = await self._load(claim)
        offline = evaluate_offline(
            inputs.turns, inputs.facts, inputs.rubric, trust_reached=inputs.trust_reached
        )
        if self._grader is None or not inputs.has_student_turns:
            return _Outcome("done", offline), rubric
        return await self._grade(self._grader, claim, inputs, offline), rubric

    async def _load(
        self, claim: evaluation_repo.Claim
    ) -> tuple[EvaluationInputs, list[dict[str, Any]]]:
        async with self._db.session() as db:
            session = await session_repo.get_session_unscoped(db, claim.session_id)
            profile = await profile_repo.get_profile(db, session.owner_id, session.profile_id)
            rubric_row = await rubric_repo.get_rubric(db, session.owner_id, session.rubric_id)
            messages = await transcript_repo.list_messages(db, session.id)
            states = await evaluation_repo.client_states(db, session.id)
        rubric = [
            {"name": c.name, "description": c.description, "levels": list(c.levels)}
            for c in rubric_row.criteria
        ]
        items = [{"seq": m.seq, "role": m.role, "text": m.text} for m in messages]
        return inputs_from(items, list(profile.hidden_facts), rubric, states), rubric

    async def _grade(
        self,
        grader: LLMGrader,
        claim: evaluation_repo.Claim,
        inputs: EvaluationInputs,
        offline: Evaluation,
    ) -> _Outcome:
        prompt = build_grader_prompt(inputs.turns, inputs.rubric, inputs.facts)
        messages = [ChatMessage("user", prompt.user)]
        refused: GraderRejection | None = None
        for _ in range(GRADER_RETRIES + 1):
            request = CompletionRequest(
                prompt.system, tuple(messages), grader.max_tokens, grader.model
            )
            completion = await complete(
                grader.completer, request, retry=grader.retry, sleep=self._sleep
            )
            await self._record(claim, completion, grader.catalog)
            if completion.failed is not None:
                failed = completion.failed
                error = f"the grader could not answer ({failed.code}): {failed.detail}"[:500]
                return _Outcome("failed", offline, error)
            answer = parse_grader_output(completion.text, inputs.rubric, inputs.turns)
            if isinstance(answer, GraderResult):
                return _Outcome("done", with_grader_result(offline, answer))
            refused = answer
            messages += [
                ChatMessage("assistant", answer.output.strip() or "(no answer)"),
                ChatMessage("user", retry_prompt(answer)),
            ]
        assert refused is not None
        reasons = " ".join(refused.reasons)
        error = f"the grader's answer was refused twice: {reasons}"[:500]
        return _Outcome("failed", offline, error)

    async def _record(
        self, claim: evaluation_repo.Claim, completion: Completion, catalog: Catalog | None
    ) -> None:
        """The grader call in the teacher's API usage (and so their monthly cap); the
        session's own token count and budget are the student's and stay as they are."""
        entry = catalog.priced_as(completion.provider, completion.model) if catalog else None
        usage = completion.usage
        async with self._db.session() as db:
            await usage_repo.record_call(
                db,
                claim.owner_id,
                session_id=claim.session_id,
                provider=completion.provider,
                model=completion.model,
                input_tokens=completion.usage.input_tokens,
                output_tokens=completion.usage.output_tokens,
                time_to_first_token_ms=completion.time_to_first_token_ms,
                duration_ms=completion.duration_ms,
                outcome="ok" if completion.ok else "failed",
                model_id=entry.id if entry else None,
                cost_micros=cost_micros(entry, usage.input_tokens, usage.output_tokens),
                currency=catalog.currency if catalog else "USD",
            )
