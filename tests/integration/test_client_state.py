"""The client state kept by the app, live: observers get `client.state`, `direction` and
`reply.flagged` and `reply.usage`; a student's socket never does (checked frame by frame,
on both backends); a fact unlocks only with trust and its topic, and only
unlocked facts reach the model's prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import world_of
from tests.integration.test_ws_flow import assert_contiguous
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import Reply, serving
from tests.support.world import World

pytestmark = pytest.mark.slow

OBSERVERS_ONLY = {"client.state", "direction", "reply.flagged", "reply.usage"}
EMPATHIC = (
    "It sounds like losing the job has shaken you more than you let on.",
    "You've been carrying a lot on your own, and that takes strength.",
    "So part of you wants to move on, and part of you still feels the loss of it.",
    "I can hear how much that job meant to you.",
    "It sounds like the job was about more than money for you.",
)


def _is(kind: str) -> Any:
    return lambda event: event["type"] == kind


async def test_students_never_receive_the_client_state_or_directions(world: World) -> None:
    session = world.new_session()
    last = len(world.servers) - 1
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=last) as teacher,
    ):
        student_welcome, teacher_welcome = await student.recv(), await teacher.recv()
        assert student_welcome["client_state"] is None
        start = teacher_welcome["client_state"]
        assert [f["state"] for f in start["facts"]] == ["locked"]
        await teacher.send(type="direct", text="Be a little more irritable.")
        assert (await teacher.until(_is("direction")))["text"] == "Be a little more irritable."
        await student.send(type="say", text=EMPATHIC[0], client_id="c1")
        state = await teacher.until(_is("client.state"))
        await student.until(_is("reply.done"))
        await teacher.until(_is("reply.done"))
        await student.send(type="ping", nonce="end")
        await student.until(_is("pong"))
        await teacher.send(type="ping", nonce="end")
        await teacher.until(_is("pong"))
    assert state["trust"] > start["trust"] and state["delta"] > 0
    # The reply's usage went to the log with its end: the teacher sees it, contiguous.
    usage = [e for e in teacher.events if e.get("type") == "reply.usage"]
    assert len(usage) == 1 and usage[0]["tokens_used"] > 0, usage
    assert_contiguous([e["seq"] for e in teacher.events if "seq" in e])
    assert any("reflection" in reason for reason in state["reasons"]), state["reasons"]
    assert not [e for e in student.events if e.get("type") in OBSERVERS_ONLY]
    assert "irritable" not in json.dumps(student.events)


@pytest.mark.parametrize("flavour", ["memory"], indirect=True)
async def test_a_fact_reaches_the_prompt_only_once_unlocked(
    tmp_path: Path, request: pytest.FixtureRequest, flavour: str
) -> None:
    fact = "Lost their job last month."
    fake = FakeOpenAI(script=[Reply(chunks=("I see.",), input_tokens=50, output_tokens=2)])
    async with serving(fake) as url:
        env = {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": url,
            "SAY_RATE_COUNT": "50",
        }
        with world_of(request, tmp_path, flavour, **env) as world:
            session = world.new_session()
            async with world.student_and_teacher(session) as (student, teacher):
                await teacher.send(type="direct", text="Mention your sister if asked.")
                await teacher.until(_is("direction"))
                prompts: list[str] = []
                states: list[dict[str, Any]] = []
                for n, line in enumerate(("Do you work?", *EMPATHIC)):
                    await student.send(type="say", text=line, client_id=f"t{n}")
                    states.append(await teacher.until(_is("client.state")))
                    await student.until(_is("reply.done"))
                    prompts.append(json.dumps(fake.requests[-1].body["messages"][0]))
    unlocked_at = next(
        (n for n, s in enumerate(states) if s["facts"][0]["state"] != "locked"), None
    )
    print(f"\ntrust by turn: {[s['trust'] for s in states]}; unlocked at turn {unlocked_at}")
    assert unlocked_at is not None and unlocked_at > 0
    for n, prompt in enumerate(prompts):
        assert (fact in prompt) == (n >= unlocked_at), (n, unlocked_at)
        assert "Mention your sister if asked." in prompt  # the teacher's direction


@pytest.mark.parametrize("mode", ["flag", "regenerate"])
@pytest.mark.parametrize("flavour", ["memory"], indirect=True)
async def test_a_reply_out_of_role_is_flagged_or_withdrawn_and_asked_again(
    tmp_path: Path, request: pytest.FixtureRequest, flavour: str, mode: str
) -> None:
    out_of_role = "As an AI language model, I can't share personal feelings."
    fake = FakeOpenAI(
        script=[
            Reply(chunks=(out_of_role,), input_tokens=50, output_tokens=12),
            Reply(chunks=("I'd rather not say.",), input_tokens=60, output_tokens=5),
        ]
    )
    async with serving(fake) as url:
        env = {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": url,
            "REPLY_INTEGRITY": mode,
        }
        with world_of(request, tmp_path, flavour, **env) as world:
            session = world.new_session()
            async with world.student_and_teacher(session) as (student, teacher):
                await student.send(type="say", text="How are you today?", client_id="a")
                flagged = await teacher.until(_is("reply.flagged"))
                ended = await student.until(lambda e: e["type"] in ("reply.done", "reply.error"))
                if mode == "regenerate":
                    second = await student.until(_is("reply.done"))
                await student.send(type="ping", nonce="end")
                await student.until(_is("pong"))
    assert [f["flag"] for f in flagged["flags"]] == ["speaks_as_ai"]
    assert not [e for e in student.events if e["type"] == "reply.flagged"]
    if mode == "flag":
        assert flagged["action"] == "flagged" and ended["type"] == "reply.done"
        assert ended["text"] == out_of_role and len(fake.requests) == 1
        return
    assert flagged["action"] == "regenerated" and flagged["text"] == out_of_role
    assert (ended["type"], ended["code"], ended["text"]) == ("reply.error", "withdrawn", "")
    assert second["text"] == "I'd rather not say." and len(fake.requests) == 2
    retry_prompt = json.dumps(fake.requests[1].body["messages"][0])
    assert "stepped out of the role" in retry_prompt
