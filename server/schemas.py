"""Request and response bodies of the JSON API. Every input is validated here; the
messages are written for teachers, not for programmers."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from server.settings import Settings

# Documents what ``strip_whitespace`` + ``min_length=1`` enforce: a JSON Schema pattern is
# unanchored, so this reads "has a character that is not whitespace".
NOT_BLANK = Field(json_schema_extra={"pattern": r"\S"})

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK
]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1_000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)]
Fact = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1_000), NOT_BLANK
]

# Deliberately simple: one @, no spaces, a dot in the domain. Full RFC 5322 is not
# worth a dependency; the teacher sees the address and can fix a typo.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The same for the schema: blank (no address) or one address, spaces around allowed.
OPTIONAL_EMAIL_PATTERN = r"^\s*(?:[^@\s]+@[^@\s]+\.[^@\s]+)?\s*$"


class Input(BaseModel):
    """A request body. Strict like the socket protocol: ``false`` is not 0, ``"3"`` is
    not 3 (only an integer may stand for a float). Every string is also checked for
    what SQL cannot store (``storage.text``) where the body is read, ``server.http``."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LoginIn(Input):
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320), NOT_BLANK
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1_000)]


class LevelIn(Input):
    score: int = Field(ge=0, le=100)
    descriptor: Fact


class CriterionIn(Input):
    name: Name
    description: LongText = ""
    weight: float = Field(default=1.0, gt=0, le=100)
    levels: list[LevelIn] = Field(min_length=1, max_length=10)

    @field_validator("levels")
    @classmethod
    def _distinct_scores(cls, levels: list[LevelIn]) -> list[LevelIn]:
        scores = [level.score for level in levels]
        if len(set(scores)) != len(scores):
            raise ValueError("each level needs a different score")
        return sorted(levels, key=lambda level: -level.score)


class RubricIn(Input):
    name: Name
    description: LongText = ""
    criteria: list[CriterionIn] = Field(min_length=1, max_length=30)


class CriterionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    description: str
    weight: float
    levels: list[LevelIn]


class RubricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    description: str
    criteria: list[CriterionOut]
    created_at: datetime
    updated_at: datetime


class SessionIn(Input):
    """Validated with ``context={"settings": Settings}`` for the configured limits."""

    # JSON has no UUID type: a string is the only way to send one.
    profile_id: uuid.UUID = Field(strict=False)
    rubric_id: uuid.UUID = Field(strict=False)
    student_name: Name
    student_email: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=320),
            Field(json_schema_extra={"pattern": OPTIONAL_EMAIL_PATTERN}),
        ]
        | None
    ) = None
    time_limit_seconds: int
    token_budget: int
    model: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None,
        description="A model catalog id (GET /api/models); omitted: the profile's "
        "default_model, else the catalog's default. Stored on the session as given.",
    )
    instructions: LongText = ""
    #: Whether the student may restart the session themselves (docs/attempts.md).
    student_may_restart: bool = False

    @field_validator("student_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not EMAIL.match(value):
            raise ValueError("must be an email address like name@example.org")
        return value.lower()

    @field_validator("time_limit_seconds")
    @classmethod
    def _time(cls, value: int, info: ValidationInfo) -> int:
        settings = _settings(info)
        low, high = settings.session_min_seconds, settings.session_max_seconds
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} seconds")
        return value

    @field_validator("token_budget")
    @classmethod
    def _tokens(cls, value: int, info: ValidationInfo) -> int:
        settings = _settings(info)
        low, high = settings.token_budget_min, settings.token_budget_max
        if not low <= value <= high:
            raise ValueError(f"must be between {low:,} and {high:,} tokens")
        return value


class ExtendIn(Input):
    """Give ``add_seconds`` or ``add_tokens`` above 0, or both."""

    # The route refuses an extension that adds nothing (naming the field); anyOf says so.

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["add_seconds"], "properties": {"add_seconds": {"minimum": 1}}},
                {"required": ["add_tokens"], "properties": {"add_tokens": {"minimum": 1}}},
            ]
        }
    )
    add_seconds: int = Field(default=0, ge=0, le=10_800)
    add_tokens: int = Field(default=0, ge=0, le=200_000)

    @property
    def adds_nothing(self) -> bool:
        return not self.add_seconds and not self.add_tokens


def _settings(info: ValidationInfo) -> Settings:
    context: Any = info.context
    if not context or "settings" not in context:
        raise RuntimeError("SessionIn must be validated with the settings in its context")
    settings = context["settings"]
    assert isinstance(settings, Settings)
    return settings


class SessionOut(BaseModel):
    id: uuid.UUID
    status: str
    end_reason: str | None
    profile_id: uuid.UUID
    rubric_id: uuid.UUID
    student_name: str
    student_email: str | None
    time_limit_seconds: int
    token_budget: int
    tokens_used: int
    tokens_left: int
    seconds_left: int
    model: str | None
    instructions: str
    join_url: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    #: Attempts (docs/attempts.md): this one's number, its series' first attempt (None on
    #: the first itself) and latest attempt (this one's id when none followed it).
    attempt: int
    attempt_of: uuid.UUID | None
    latest_attempt_id: uuid.UUID
    student_may_restart: bool


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    actor: str
    data: dict[str, Any]
    seq: int | None
    created_at: datetime


class EventPage(BaseModel):
    """A session's audit trail, oldest first."""

    items: list[EventOut]


class RubricPage(BaseModel):
    items: list[RubricOut]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    name: str
    role: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
