"""The client's state in the teacher's pages: private directions to the virtual client
(listed for observers, never reaching the student's page or socket), the trust chart and
the hidden facts drawn from ``client.state`` events (live and on the review page), and
flag badges on replies the persona checks flagged."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, WebSocket, expect

from realtime.events import (
    ClientStateEvent,
    DirectionEvent,
    FactStateName,
    FactView,
    FlagView,
    MessageEvent,
    ReplyFlagged,
    encode,
)
from realtime.vocabulary import EventType, MessageRole
from tests.browser.conftest import Site, _serve, screenshot
from tests.browser.helpers import (
    REPLY_TIMEOUT_MS,
    NewContext,
    open_teacher,
    say,
    wait_for_replies,
)
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import Reply, serving
from tests.support.world import OBSERVERS_ONLY

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HELP_TEXT = "Only the virtual client sees this; the student never does."
FACT_STATE = re.compile(r"^(Locked|Unlocked|Disclosed at seq \d+)$")


class Frames:
    """Every frame a page's WebSockets received, recorded from before it loads."""

    def __init__(self, page: Page) -> None:
        self.raw: list[str] = []
        page.on("websocket", self._socket)

    def _socket(self, socket: WebSocket) -> None:
        socket.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        self.raw.append(payload if isinstance(payload, str) else payload.decode())

    def types(self) -> set[str]:
        return {str(json.loads(frame)["type"]) for frame in self.raw}


def open_recorded_student(
    new_context: NewContext, session: dict[str, Any], on: Site | None = None
) -> tuple[Page, Frames]:
    page = new_context(on=on).new_page()
    frames = Frames(page)
    page.goto(session["join_url"])
    expect(page.locator("#status-badge")).to_have_text("Active")
    expect(page.locator("#connection-banner")).to_be_hidden()
    return page, frames


def open_tile(
    new_context: NewContext, session: dict[str, Any], on: Site | None = None
) -> tuple[Page, Locator]:
    page = open_teacher(new_context, f"/observe/{session['id']}", on=on)
    tile = page.locator(f".tile[data-session-id='{session['id']}']")
    expect(tile.get_by_role("heading", level=2)).to_have_text(session["student_name"])
    expect(tile.locator(".tile__presence")).to_contain_text("Student online")
    return page, tile


def wait_for_audit(site: Site, session_id: str, kind: str, timeout: float = 10.0) -> None:
    """Poll the audit trail until a ``kind`` row is saved."""
    deadline = time.monotonic() + timeout
    with site.teacher_api() as api:
        while time.monotonic() < deadline:
            rows = api.get(f"/api/sessions/{session_id}/events").json()["items"]
            if any(row["kind"] == kind for row in rows):
                return
            time.sleep(0.1)  # polling a probe, not papering over a race
    raise AssertionError(f"no {kind} row in the audit trail after {timeout} s")


def assert_student_heard_nothing_private(frames: Frames, *texts: str) -> None:
    types = frames.types()
    # The student's socket did carry the conversation, so its silence below means something.
    assert {EventType.WELCOME, EventType.MESSAGE, EventType.REPLY_DONE} <= types, types
    assert not types & OBSERVERS_ONLY, types
    for text in texts:
        assert not any(text in frame for frame in frames.raw), text


def test_direction_reaches_observers_never_the_student(new_context: NewContext, site: Site) -> None:
    session = site.new_session(student_name="Direction Student")
    student, frames = open_recorded_student(new_context, session)
    observer, tile = open_tile(new_context, session)

    direction = "Be more guarded about work until they reflect your worry."
    box = tile.get_by_role("textbox", name="Direct the client")
    expect(box).to_have_accessible_description(HELP_TEXT)
    expect(tile.locator(".directions__empty")).to_have_text("No directions given.")
    box.fill(direction)
    tile.get_by_role("button", name="Direct", exact=True).click()
    # Listed from the server's `direction` event, not from the form.
    expect(tile.get_by_role("list", name="Directions given").locator("li")).to_have_text(
        [direction]
    )
    expect(box).to_have_value("")
    expect(tile.locator(".directions__empty")).to_be_hidden()

    # A turn after the direction: every event logged after it reached the student's socket.
    say(student, "Hello Sam, what brings you here today?")
    wait_for_replies(student, 1)
    wait_for_replies(observer, 1)
    assert_student_heard_nothing_private(frames, direction)
    expect(student.locator("body")).not_to_contain_text(direction)
    expect(student.get_by_text("Direct the client")).to_have_count(0)
    expect(tile.locator(".msg")).to_have_count(2)  # the direction is no transcript message
    screenshot(observer, "teacher-observer-direction")
    phone = open_teacher(new_context, f"/observe/{session['id']}", phone=True)
    expect(phone.locator(".directions li")).to_have_text([direction])
    screenshot(phone, "teacher-observer-direction-phone")

    # A fresh connection lists it again, from the audit trail; so does the review page.
    wait_for_audit(site, session["id"], "direction")
    observer.reload()
    expect(tile.get_by_role("list", name="Directions given").locator("li")).to_have_text(
        [direction]
    )
    observer.goto(f"/teacher#/sessions/{session['id']}")
    card = observer.locator(".client-card")
    expect(card.get_by_role("list", name="Directions given").locator("li")).to_have_text(
        [direction]
    )
    screenshot(observer, "teacher-review-direction")


def test_trust_chart_and_facts_follow_client_state(new_context: NewContext, site: Site) -> None:
    """Needs the server to emit ``client.state`` after each student turn (the live client
    state integration); before it lands, this waits for the chart and fails there."""
    session = site.new_session(student_name="Trust Student")
    student, frames = open_recorded_student(new_context, session)
    observer, tile = open_tile(new_context, session)
    panel = tile.locator(".client-state")
    expect(panel.get_by_role("heading", name="Client state")).to_be_visible()

    turns = [
        "Hello Sam, I'm glad you came. What would you like to talk about?",
        "It sounds like work has been weighing on you, and sleep hasn't been easy either.",
    ]
    for count, turn in enumerate(turns, start=1):
        say(student, turn)
        wait_for_replies(student, count)
        wait_for_replies(observer, count, scope=tile)

    chart = panel.locator("svg.trust-chart__svg")
    expect(chart).to_have_attribute(
        "aria-label",
        re.compile(r"^Trust over \d+ turns?: now \d+ of 100"),
        timeout=REPLY_TIMEOUT_MS,
    )
    expect(panel.locator(".trust-now__value")).to_have_text(re.compile(r"^\d{1,3}$"))
    expect(panel.locator(".trust-why")).to_have_text(re.compile(r"^Latest change"))
    points = (panel.locator("polyline.trust-chart__line").get_attribute("points") or "").split()
    assert len(points) >= len(turns), points
    facts = panel.get_by_role("list", name="Hidden facts").locator("li")
    expect(facts).to_have_count(3)  # the demo profile's three hidden facts
    for state in facts.locator(".hidden-fact__state").all_text_contents():
        assert FACT_STATE.match(state), state
    assert_student_heard_nothing_private(frames)
    screenshot(observer, "teacher-observer-client-state")

    wait_for_audit(site, session["id"], "client_state")
    observer.goto(f"/teacher#/sessions/{session['id']}")
    card = observer.locator(".client-card")
    expect(card.locator("svg.trust-chart__svg")).to_have_attribute(
        "aria-label", re.compile(r"^Trust over \d+ turns?: now \d+ of 100")
    )
    expect(card.get_by_role("list", name="Hidden facts").locator("li")).to_have_count(3)
    screenshot(observer, "teacher-review-client-state")


def _events_as_the_server_encodes_them() -> list[Any]:
    def facts(*states: tuple[FactStateName, int | None]) -> tuple[FactView, ...]:
        texts = ["A warning letter <b>arrived</b>.", "Drinking most nights.", "Their father died."]
        return tuple(
            FactView(index=i, fact=texts[i], state=state, disclosed_seq=seq)
            for i, (state, seq) in enumerate(states)
        )

    locked: tuple[FactStateName, None] = ("locked", None)
    events = [
        ClientStateEvent(seq=1, trust=30, facts=facts(locked, locked, locked)),
        MessageEvent(seq=3, message_id="m_s1", role=MessageRole.STUDENT, text="Hi"),
        ClientStateEvent(
            seq=5,
            trust=38,
            delta=8,
            reasons=("complex reflection +6", "open question +2"),
            after_seq=3,
            facts=facts(("unlocked", None), locked, locked),
        ),
        DirectionEvent(seq=6, text="Mention the letter if asked about work."),
        MessageEvent(seq=7, message_id="m_s2", role=MessageRole.STUDENT, text="Work?"),
        ClientStateEvent(
            seq=9,
            trust=48,
            delta=10,
            reasons=("disclosed: warning letter +10",),
            after_seq=8,
            facts=facts(("disclosed", 8), locked, locked),
        ),
        ReplyFlagged(
            seq=10, reply_id="r_2", flags=(FlagView(flag="ai_speak", reason="said it is an AI"),)
        ),
        MessageEvent(seq=11, message_id="m_s3", role=MessageRole.STUDENT, text="Just drink less."),
        ClientStateEvent(
            seq=12,
            trust=41,
            delta=-7,
            reasons=("advice without permission -7",),
            after_seq=11,
            facts=facts(("disclosed", 8), locked, locked),
        ),
    ]
    return [json.loads(encode(event)) for event in events]


#: session_events.kind of the audit rows that record observers-only events.
AUDIT_KINDS = {
    EventType.CLIENT_STATE: "client_state",
    EventType.DIRECTION: "direction",
    EventType.REPLY_FLAGGED: "reply_flagged",
}

FOLD_AND_DRAW = """async ([events, kinds]) => {
  const cs = await import("/static/js/teacher/client-state.js");
  const { Transcript } = await import("/static/js/transcript.js");
  const fold = (list) => list.reduce(cs.foldClientState, cs.emptyClientState());
  const summary = (state) => JSON.stringify([
    cs.trustPoints(state), cs.directionsOf(state).map((d) => [d.seq, d.text]),
    [...state.flags.keys()], cs.latestState(state).seq,
  ]);
  const inOrder = fold(events);
  const shuffled = fold([...events].reverse().concat(events.slice(2)));
  const audit = fold(events.map((e) => cs.auditEvent({
    kind: kinds[e.type] || "whisper",
    seq: e.seq, data: e, created_at: "2026-01-01T00:00:00Z"})).filter(Boolean)
    .concat(events.filter((e) => e.role === "student")));
  const box = document.createElement("div");
  box.className = "card client-card fold-test";
  document.body.append(box);
  new cs.ClientStatePanel(box, { idPrefix: "fold-test", headingLevel: "h2" }).draw(inOrder);
  const list = document.createElement("ol");
  list.className = "transcript";
  box.append(list);
  new Transcript(list).renderMessages([{
    role: "client", text: "As an AI, I cannot feel.", message_id: "m_2", reply_id: "r_2", seq: 10,
  }]);
  const nodeFor = (id) => list.querySelector(`.msg[data-message-id="m_${id.slice(2)}"]`);
  cs.markFlaggedReplies(inOrder, nodeFor);
  cs.markFlaggedReplies(inOrder, nodeFor); // twice: still one badge
  return { points: cs.trustPoints(inOrder), sameShuffled: summary(shuffled) === summary(inOrder),
           sameFromAudit: summary(audit) === summary(inOrder) };
}"""


def test_client_state_panel_draws_events_as_the_server_encodes_them(
    new_context: NewContext,
) -> None:
    """The fold and the drawing on their own, fed events built from the server's models
    (``reply.flagged`` has no producer in the scripted client yet): order and duplicates do
    not matter, audit rows fold like live events, text stays text, flags carry words."""
    page = open_teacher(new_context, "/sessions")
    expect(page.get_by_role("heading", name="Sessions", exact=True)).to_be_visible()
    kinds = {event.value: kind for event, kind in AUDIT_KINDS.items()}
    result = page.evaluate(FOLD_AND_DRAW, [_events_as_the_server_encodes_them(), kinds])
    assert result["points"] == [
        {"turn": 0, "trust": 30},
        {"turn": 1, "trust": 38},
        {"turn": 2, "trust": 48},
        {"turn": 3, "trust": 41},
    ]
    assert result["sameShuffled"] and result["sameFromAudit"]

    box = page.locator(".fold-test")
    expect(box.locator(".trust-now__value")).to_have_text("41")
    expect(box.locator(".trust-now__delta")).to_have_text("(-7)")
    expect(box.locator(".trust-why")).to_have_text("Latest change -7: advice without permission -7")
    expect(box.locator("svg")).to_have_attribute(
        "aria-label", "Trust over 3 turns: now 41 of 100; lowest 30, highest 48."
    )
    expect(box.locator("svg text.trust-chart__extreme")).to_have_text(["max 48", "min 30"])
    expect(box.locator(".hidden-fact__state")).to_have_text(
        ["Disclosed at seq 8", "Locked", "Locked"]
    )
    expect(box.locator(".hidden-fact__text").first).to_have_text("A warning letter <b>arrived</b>.")
    expect(box.locator(".hidden-fact b")).to_have_count(0)
    expect(box.locator(".directions li")).to_have_text(["Mention the letter if asked about work."])
    badge = box.locator(".msg .flag-badge")
    expect(badge).to_have_count(1)
    expect(badge).to_have_attribute("title", "ai speak: said it is an AI")
    expect(badge).to_have_text(re.compile(r"Flagged \(flagged for: ai speak: said it is an AI\)"))
    screenshot(page, "teacher-client-state-panel")


OUT_OF_ROLE = "As an AI language model, I can't share personal feelings."


@contextmanager
def fake_llm(fake: FakeOpenAI) -> Iterator[str]:
    """``fake`` served on its own event loop in a thread (Playwright's sync API owns the
    main thread's loop); yields its base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    urls: list[str] = []

    async def serve() -> None:
        async with serving(fake) as url:
            urls.append(url)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(10), "the fake LLM server did not start"
        yield urls[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def flagging_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose model (a fake OpenAI endpoint) first answers out of role, then in
    role; REPLY_INTEGRITY=flag keeps a flagged reply and tells observers."""
    fake = FakeOpenAI(
        script=[
            Reply(chunks=(OUT_OF_ROLE,), input_tokens=50, output_tokens=12),
            Reply(chunks=("I'd rather not say.",), input_tokens=60, output_tokens=5),
        ]
    )
    env = {
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "test",
        "REPLY_INTEGRITY": "flag",
    }
    with fake_llm(fake) as url:
        work = tmp_path_factory.mktemp("browser-flagging-site")
        with _serve(work, {**env, "OPENAI_BASE_URL": url}) as served:
            yield served


def test_a_flagged_reply_is_badged_for_observers_only(
    new_context: NewContext, flagging_site: Site
) -> None:
    session = flagging_site.new_session(student_name="Flag Student")
    student, frames = open_recorded_student(new_context, session, on=flagging_site)
    observer, tile = open_tile(new_context, session, on=flagging_site)

    say(student, "How are you today?")
    wait_for_replies(student, 1)
    reply = tile.locator(".msg--client")
    expect(reply.locator(".msg__text")).to_have_text(OUT_OF_ROLE)
    badge = reply.locator(".flag-badge")
    expect(badge).to_have_text(re.compile(r"Flagged \(flagged for: speaks as ai: .+\)"))
    expect(badge).to_have_attribute("title", re.compile(r"^speaks as ai: "))
    expect(reply).to_have_class(re.compile(r"\bmsg--flagged\b"))
    assert_student_heard_nothing_private(frames)
    expect(student.locator(".flag-badge")).to_have_count(0)
    screenshot(observer, "teacher-observer-flagged-reply")

    # The review page reads what was saved; the flusher trails the live log by ~0.25 s.
    wait_for_audit(flagging_site, session["id"], "reply_flagged")
    observer.goto(f"/teacher#/sessions/{session['id']}")
    stored = observer.locator(".transcript--review .msg--client")
    expect(stored.locator(".flag-badge")).to_have_attribute("title", re.compile(r"^speaks as ai: "))
    screenshot(observer, "teacher-review-flagged-reply")
