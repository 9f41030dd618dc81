"""Pure tests: the persona prompt, token estimates and history windowing."""

from __future__ import annotations

from llm import OMITTED_MARKER, Persona, ReplyRequest, Turn, estimate_request_tokens
from llm.base import HiddenFact
from llm.persona import WIND_DOWN_INSTRUCTION, build_system_prompt
from llm.window import (
    estimate_tokens,
    prepare,
    to_chat_messages,
    turn_tokens,
    window_history,
)

PERSONA = Persona(
    name="Ana Souza",
    age=19,
    pronouns="she/her",
    background="First-year student living in halls.",
    presenting_problem="Panic attacks before exams.",
    personality="anxious, polite",
    communication_style="talkative when nervous",
    goals="Wants to stay at university.",
    hidden_facts=(
        HiddenFact("Ana's father pressures her to study medicine."),
        HiddenFact("Ana has skipped meals."),
    ),
    difficulty=4,
    opening_line="Hi, sorry, I'm a bit early.",
    instructions="Focus on exam anxiety; the student is in week 2.",
)


def test_prompt_has_profile_rules_and_instructions() -> None:
    prompt = build_system_prompt(PERSONA)
    for text in (
        "Ana Souza",
        "19 years old",
        "she/her",
        "First-year student",
        "Panic attacks",
        "anxious, polite",
        "talkative when nervous",
        "stay at university",
        "father pressures her",
        "skipped meals",
        "Hi, sorry, I'm a bit early.",
        "Focus on exam anxiety",
        "Difficulty 4/5",
    ):
        assert text in prompt, text
    assert prompt.index("father pressures") < prompt.index("skipped meals")
    lowered = prompt.lower()
    assert "stay in character" in lowered
    assert "ignore previous instructions" in lowered and "you are an ai" in lowered
    assert "never reveal" in lowered
    assert "only" in lowered and "rapport" in lowered
    assert WIND_DOWN_INSTRUCTION not in prompt


def test_wind_down_adds_the_instruction() -> None:
    prompt = build_system_prompt(PERSONA, wind_down=True)
    assert WIND_DOWN_INSTRUCTION in prompt
    assert "I should get going soon" in prompt


def test_empty_fields_are_left_out() -> None:
    prompt = build_system_prompt(Persona(name="Lee"))
    assert "Background:" not in prompt and "Hidden facts (" not in prompt
    assert "Session instructions" not in prompt


def test_estimate_tokens_rounds_up() -> None:
    assert [estimate_tokens(text) for text in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]


def _history(count: int, size: int = 40) -> tuple[Turn, ...]:
    return tuple(
        Turn("student" if i % 2 == 0 else "client", f"{i:03d}" + "x" * size) for i in range(count)
    )


def test_history_that_fits_is_unchanged() -> None:
    history = _history(5)
    assert window_history(history, 10_000) == history


def test_oldest_turns_are_dropped_with_a_marker_within_budget() -> None:
    history = _history(21)
    budget = 100
    windowed = window_history(history, budget)
    assert windowed[0] == Turn("student", OMITTED_MARKER)
    assert windowed[1:] == history[-(len(windowed) - 1) :]
    assert sum(turn_tokens(turn) for turn in windowed) <= budget
    # And it is the largest such window: one more turn would not fit.
    one_more = (windowed[0], history[-len(windowed)], *windowed[1:])
    assert sum(turn_tokens(turn) for turn in one_more) > budget


def test_latest_student_message_is_never_truncated() -> None:
    huge = Turn("student", "please listen " * 2_000)
    windowed = window_history((*_history(4), huge), budget_tokens=50)
    assert windowed[-1] == huge
    assert windowed == (Turn("student", OMITTED_MARKER), huge)


def test_empty_history() -> None:
    assert window_history((), 100) == ()


def test_request_estimate_covers_prompt_and_windowed_history() -> None:
    request = ReplyRequest(persona=PERSONA, history=_history(9), max_tokens=300)
    system, turns = prepare(request)
    assert estimate_request_tokens(request) == estimate_tokens(system) + sum(
        turn_tokens(turn) for turn in turns
    )
    assert turns == request.history


def test_small_context_windows_the_history() -> None:
    request = ReplyRequest(
        persona=PERSONA, history=_history(200, size=400), max_tokens=300, context_tokens=4_000
    )
    _, turns = prepare(request)
    assert turns[0].text == OMITTED_MARKER and turns[-1] == request.history[-1]
    assert estimate_request_tokens(request) + request.max_tokens <= request.context_tokens


def test_chat_messages_alternate_and_start_with_user() -> None:
    turns = (
        Turn("client", "Hello."),
        Turn("student", OMITTED_MARKER),
        Turn("student", "Hi"),
        Turn("client", "Yes?"),
    )
    assert to_chat_messages(turns) == [
        {"role": "user", "content": OMITTED_MARKER},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": f"{OMITTED_MARKER}\n\nHi"},
        {"role": "assistant", "content": "Yes?"},
    ]


def test_only_the_facts_in_the_persona_reach_the_prompt_with_style_and_directions() -> None:
    """The app puts unlocked facts only; told ones are marked, teacher directions added."""
    persona = Persona(
        name="Sam",
        hidden_facts=(
            HiddenFact("Sam's father died.", disclosure="My dad died in March.", disclosed=True),
            HiddenFact("Sam drinks most nights.", disclosure="I've been drinking a lot."),
        ),
        style="reserved",
        avoid=("money",),
        directions=("Be more irritable.",),
    )
    prompt = build_system_prompt(persona)
    ready = prompt.index("Ready to share")
    told = prompt.index("Already told the student")
    assert prompt.index("drinks most nights") > ready and "I've been drinking a lot." in prompt
    assert prompt.index("father died") > told
    assert "Reserved:" in prompt and "steer away from: money" in prompt
    assert "Be more irritable." in prompt
    assert "Ready to share (" not in build_system_prompt(Persona(name="Sam"))
