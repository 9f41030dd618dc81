"""What training costs: a teacher's own provider calls, grouped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from realtime.quota import month_start, next_month_start
from server.errors import ApiError
from server.http import json_response, require_teacher, resource
from server.state import app_state
from storage.repos import usage as usage_repo

GROUPS: dict[str, usage_repo.GroupBy] = {
    "provider": "provider",
    "model": "model",
    "session": "session",
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
        month = await usage_repo.tokens_since(db, teacher.id, month_start(now))
    items = [
        {
            "key": row.key,
            "label": row.label,
            "calls": row.calls,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "total_tokens": row.total_tokens,
        }
        for row in rows
    ]
    cap = state.settings.teacher_monthly_token_cap
    return json_response(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "group_by": group_by,
            "items": items,
            "total": {
                "calls": sum(r.calls for r in rows),
                "input_tokens": sum(r.input_tokens for r in rows),
                "output_tokens": sum(r.output_tokens for r in rows),
                "total_tokens": sum(r.total_tokens for r in rows),
            },
            "month": {
                "tokens_used": month,
                "cap": cap,
                "renews_at": next_month_start(now).isoformat(),
            },
        }
    )


routes = [resource("/api/usage", get=usage)]
