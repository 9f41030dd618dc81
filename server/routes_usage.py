"""What training costs: a teacher's own provider calls, grouped by provider, model,
session or student, in tokens and money (see :mod:`server.usage_schemas`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from realtime.quota import MonthlyCaps, effective_token_cap, month_start, next_month_start
from server.errors import ApiError
from server.http import require_teacher, resource
from server.state import AppState, app_state
from server.usage_schemas import CostFields, UsageItemOut, UsageMonthOut, UsageOut, cost_values
from storage.repos import usage as usage_repo
from storage.repos.usage import DEFAULT_CURRENCY, UsageRow

GROUPS: dict[str, usage_repo.GroupBy] = {
    "provider": "provider",
    "model": "model",
    "session": "session",
    "student": "student",
}


def _when(raw: str | None, default: datetime, field: str, fields: dict[str, str]) -> datetime:
    """An ISO date (``2026-11-01``) or datetime, in UTC; naive values are UTC. One that
    leaves years 1 to 9999 once in UTC (year 1 at +01:00) is refused in ``fields``."""
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        fields[field] = "must be a date like 2026-11-01 or an ISO date-time, in years 1 to 9999"
        return default


def cap_currency(state: AppState) -> str:
    """The currency of money caps: the catalog's; without one, the usage rows' default."""
    return state.catalog.currency if state.catalog is not None else DEFAULT_CURRENCY


async def usage(request: Request) -> Response:
    teacher = await require_teacher(request)
    state = app_state(request)
    now = datetime.now(UTC)
    params = request.query_params
    fields: dict[str, str] = {}
    start = _when(params.get("from"), month_start(now), "from", fields)
    end = _when(params.get("to"), now + timedelta(seconds=1), "to", fields)
    group_by = GROUPS.get(params.get("group_by", "provider"), "provider")
    if params.get("group_by", "provider") not in GROUPS:
        fields["group_by"] = "must be one of " + ", ".join(GROUPS)
    if not fields and end <= start:
        fields["to"] = "must be after from"
    if fields:
        raise ApiError(422, "validation_failed", "Some parameters are not valid.", fields=fields)
    async with state.db.session() as db:
        rows = await usage_repo.summarize(db, teacher.id, start, end, group_by)
        month = await usage_repo.totals_since(db, teacher.id, month_start(now))
    caps = MonthlyCaps(
        effective_token_cap(teacher.monthly_token_cap, state.settings.teacher_monthly_token_cap),
        teacher.monthly_cost_micros_cap,
    )
    total = UsageRow("total", "total")
    for row in rows:
        total.merge(row)
    out = UsageOut(
        from_=start,
        to=end,
        group_by=group_by,
        items=[UsageItemOut(key=row.key, label=row.label, **cost_values(row)) for row in rows],
        total=CostFields(**cost_values(total)),
        month=UsageMonthOut(
            **cost_values(month),
            tokens_used=month.total_tokens,
            cap=caps.tokens,
            cost_micros_cap=caps.cost_micros,
            cap_currency=cap_currency(state),
            cap_reached=caps.reached(month.total_tokens, sum(month.cost_micros.values())),
            renews_at=next_month_start(now),
        ),
    )
    return JSONResponse(out.model_dump(mode="json", by_alias=True))


routes = [resource("/api/usage", get=usage)]
