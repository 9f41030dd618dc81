"""Bodies of the usage report (``GET /api/usage``) and the admin's teacher overview and
caps (``/api/admin/teachers``).

Money is in micros everywhere: integer millionths of a currency (1 USD = 1,000,000), the
unit ``api_usage.cost_micros`` stores, so no amount is ever rounded by a float. Costs are
``{currency: micros}`` of the priced calls; ``unpriced_calls`` counts calls whose cost is
unknown, and ``cost_complete`` is true only when there is none: an unpriced call is never
reported as free."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, TypedDict

from pydantic import BaseModel, Field

from server.schemas import Input
from storage.repos.usage import UsageRow

#: The largest cap: 10^15 (a billion currency units in micros) stays below 2^53, so a
#: browser's JSON numbers read every cap exactly, and far inside SQL's BIGINT.
CAP_MAX = 10**15

Cap = Annotated[int, Field(ge=0, le=CAP_MAX)]


class CostFields(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    #: Priced calls' cost by currency, in micros; {} when no call was priced.
    cost_micros: dict[str, int]
    unpriced_calls: int
    cost_complete: bool


class CostValues(TypedDict):
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_micros: dict[str, int]
    unpriced_calls: int
    cost_complete: bool


def cost_values(row: UsageRow) -> CostValues:
    """The :class:`CostFields` of ``row``, to spread into any model that has them."""
    return {
        "calls": row.calls,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "total_tokens": row.total_tokens,
        "cost_micros": dict(row.cost_micros),
        "unpriced_calls": row.unpriced_calls,
        "cost_complete": row.cost_complete,
    }


class UsageItemOut(CostFields):
    key: str
    label: str


class UsageMonthOut(CostFields):
    """This calendar month (UTC) against the caps that apply to the teacher."""

    tokens_used: int
    #: The token cap that applies (the teacher's own, else TEACHER_MONTHLY_TOKEN_CAP).
    cap: int | None
    cost_micros_cap: int | None
    #: The currency money caps are in: the catalog's (USD without a catalog).
    cap_currency: str
    cap_reached: bool
    renews_at: datetime


class UsageOut(BaseModel):
    model_config = {"populate_by_name": True}

    from_: datetime = Field(alias="from")
    to: datetime
    group_by: str
    items: list[UsageItemOut]
    total: CostFields
    month: UsageMonthOut


class CapsIn(Input):
    """A teacher's own monthly caps, both given (PUT replaces them): a whole number of
    tokens and of micros (millionths of the catalog's currency: 12.50 USD is 12500000),
    or null (tokens: TEACHER_MONTHLY_TOKEN_CAP applies; money: no cap)."""

    monthly_token_cap: Cap | None
    monthly_cost_micros_cap: Cap | None


class TeacherUsageOut(CostFields):
    id: uuid.UUID
    email: str
    name: str
    role: str
    monthly_token_cap: int | None
    monthly_cost_micros_cap: int | None
    #: The token cap that applies: their own, else TEACHER_MONTHLY_TOKEN_CAP.
    effective_token_cap: int | None
    cap_reached: bool


class TeacherPage(BaseModel):
    items: list[TeacherUsageOut]
    #: TEACHER_MONTHLY_TOKEN_CAP: the token cap of a teacher without one of their own.
    default_token_cap: int | None
    #: The currency money caps are in: the catalog's (USD without a catalog).
    cap_currency: str
    month_start: datetime
    renews_at: datetime
