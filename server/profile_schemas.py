"""Client profile bodies: hidden facts in their structured form (a plain string is still
accepted as a fact), the conversational style and the topics the client avoids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic.config import JsonDict

from llm.base import ConversationStyle
from server.schemas import Fact, Input, LongText, Name, ShortText

# Profile limits: 20 facts keep the persona prompt near 2,000 tokens; a topic is a word or
# a short phrase ("father's funeral"), a dozen per fact is more than matching needs.
MAX_HIDDEN_FACTS = 20
MAX_TOPICS = 12
MAX_AVOID = 20
TOPIC_MAX_CHARS = 60
# A topic list sent as one comma-separated string: a dozen 60-character topics fit.
TOPICS_TEXT_MAX_CHARS = 1_000
# A fact sent without ``trust_needed`` needs trust rising with its place in the list.
FIRST_TRUST, LAST_TRUST = 30, 80


def default_trust_needed(index: int, count: int) -> int:
    """The trust the fact at ``index`` (from 0) of ``count`` needs when the teacher gave
    none: the first 30, the last 80, evenly in between (floored); a single fact 30.
    Migration 0003 gave every stored fact this value."""
    if count <= 1:
        return FIRST_TRUST
    return FIRST_TRUST + (LAST_TRUST - FIRST_TRUST) * index // (count - 1)


def _split_topics(value: object) -> object:
    """A comma-separated string becomes its items, blank ones dropped; a list passes on."""
    if not isinstance(value, str):
        return value
    if len(value) > TOPICS_TEXT_MAX_CHARS:
        raise ValueError(f"must be at most {TOPICS_TEXT_MAX_CHARS:,} characters")
    return [part.strip() for part in value.split(",") if part.strip()]


def _no_comma(topic: str) -> str:
    if "," in topic:
        raise ValueError("must not contain a comma: give each topic as its own item")
    return topic


def _distinct(topics: list[str]) -> list[str]:
    """Drop repeats that differ only in case, keeping the first spelling."""
    seen: set[str] = set()
    kept: list[str] = []
    for topic in topics:
        if topic.casefold() not in seen:
            seen.add(topic.casefold())
            kept.append(topic)
    return kept


def _or_comma_text(schema: JsonDict) -> None:
    """Document that a topic list may also come as one comma-separated string."""
    listed = dict(schema)
    schema.clear()
    for key in ("title", "description"):
        if key in listed:
            schema[key] = listed.pop(key)
    text: JsonDict = {"type": "string", "maxLength": TOPICS_TEXT_MAX_CHARS}
    schema["anyOf"] = [listed, text]


def _or_plain_fact(schema: JsonDict) -> None:
    """Document that a hidden fact may also come as a plain string (its ``fact``)."""
    items = schema["items"]
    plain: JsonDict = {"type": "string", "minLength": 1, "maxLength": 1_000, "pattern": r"\S"}
    schema["items"] = {"anyOf": [plain, items]}


Topic = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TOPIC_MAX_CHARS),
    AfterValidator(_no_comma),
    # Not blank and no comma: the schema's version of what the validators check.
    Field(json_schema_extra={"pattern": r"^[^,]*[^\s,][^,]*$"}),
]
TopicList = Annotated[list[Topic], BeforeValidator(_split_topics), AfterValidator(_distinct)]


class HiddenFactIn(Input):
    """A hidden fact. A plain string stands for `{"fact": string}`. Without
    `trust_needed` (or with null) its place in the list sets it: the first fact 30, the
    last 80, evenly in between (`default_trust_needed`)."""

    fact: Fact
    disclosure: ShortText = ""
    topics: TopicList = Field(
        default_factory=list, max_length=MAX_TOPICS, json_schema_extra=_or_comma_text
    )
    trust_needed: int | None = Field(default=None, ge=0, le=100)


_FACT_TEXT: TypeAdapter[str] = TypeAdapter(Fact, config=ConfigDict(strict=True))


def _plain_or_object(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """A plain string is the ``fact`` of a fact with nothing else; its problems are named
    at the string's own place ("hidden_facts.2"), where the teacher put it."""
    if isinstance(value, str):
        try:
            value = {"fact": _FACT_TEXT.validate_python(value)}
        except ValidationError as error:
            raise ValueError(error.errors(include_url=False)[0]["msg"]) from None
    elif not isinstance(value, dict):
        raise ValueError("must be a text or an object with a fact")
    return handler(value)


class ProfileIn(Input):
    name: Name
    age: int | None = Field(default=None, ge=0, le=120)
    pronouns: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = ""
    background: LongText = ""
    presenting_problem: LongText = ""
    personality: LongText = ""
    communication_style: LongText = ""
    goals: LongText = ""
    hidden_facts: list[Annotated[HiddenFactIn, WrapValidator(_plain_or_object)]] = Field(
        default_factory=list, max_length=MAX_HIDDEN_FACTS, json_schema_extra=_or_plain_fact
    )
    difficulty: int = Field(default=3, ge=1, le=5)
    opening_line: ShortText = ""
    style: ConversationStyle = "plain"
    avoid: TopicList = Field(
        default_factory=list, max_length=MAX_AVOID, json_schema_extra=_or_comma_text
    )
    default_model: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None,
        description="A model catalog id (GET /api/models) that sessions for this client "
        "get when they name none; null: the catalog's default.",
    )

    @field_validator("hidden_facts")
    @classmethod
    def _trust_by_order(cls, facts: list[HiddenFactIn]) -> list[HiddenFactIn]:
        count = len(facts)
        return [
            fact
            if fact.trust_needed is not None
            else fact.model_copy(update={"trust_needed": default_trust_needed(index, count)})
            for index, fact in enumerate(facts)
        ]


class HiddenFactOut(BaseModel):
    fact: str
    disclosure: str
    topics: list[str]
    trust_needed: int


class ProfileOut(BaseModel):
    """A profile as stored: hidden facts always in the structured form, in the teacher's
    order."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    age: int | None
    pronouns: str
    background: str
    presenting_problem: str
    personality: str
    communication_style: str
    goals: str
    hidden_facts: list[HiddenFactOut]
    difficulty: int
    opening_line: str
    style: ConversationStyle
    avoid: list[str]
    default_model: str | None
    created_at: datetime
    updated_at: datetime


class ProfilePage(BaseModel):
    items: list[ProfileOut]
