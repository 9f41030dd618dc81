"""The admin's surface: every teacher's usage this month, and their monthly caps.

Who: a logged-in user whose role is ``admin`` (the same login cookie as teachers). A
teacher gets 403 ``forbidden``, not 404: these paths are documented in ``/openapi.json``
and served to anyone as a page, so hiding them would hide nothing; a 403 lets the page
say "this account is not an administrator". Not logged in is 401, as everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from realtime.quota import MonthlyCaps, effective_token_cap, month_start, next_month_start
from server.access import TEACHER_ROLES
from server.errors import ApiError
from server.http import json_response, path_uuid, read_json, require_teacher, resource
from server.routes_usage import cap_currency
from server.state import app_state
from server.usage_schemas import CapsIn, TeacherPage, TeacherUsageOut, cost_values
from storage.models import User
from storage.repos import usage as usage_repo
from storage.repos import users as user_repo
from storage.repos.usage import UsageRow

ADMIN_ROLE = "admin"


async def require_admin(request: Request) -> User:
    """The logged-in admin. Raises ApiError 401 (not logged in) or 403 (not an admin)."""
    user = await require_teacher(request)
    if user.role != ADMIN_ROLE:
        raise ApiError(403, "forbidden", "Only an administrator may see or change this.")
    return user


def teacher_out(user: User, used: UsageRow, default_token_cap: int | None) -> TeacherUsageOut:
    caps = MonthlyCaps(
        effective_token_cap(user.monthly_token_cap, default_token_cap),
        user.monthly_cost_micros_cap,
    )
    return TeacherUsageOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        monthly_token_cap=user.monthly_token_cap,
        monthly_cost_micros_cap=user.monthly_cost_micros_cap,
        effective_token_cap=caps.tokens,
        cap_reached=caps.reached(used.total_tokens, sum(used.cost_micros.values())),
        **cost_values(used),
    )


def _nothing(user: User) -> UsageRow:
    return UsageRow(str(user.id), user.email)


async def list_teachers(request: Request) -> Response:
    await require_admin(request)
    state = app_state(request)
    now = datetime.now(UTC)
    start = month_start(now)
    async with state.db.session() as db:
        teachers = await user_repo.list_teachers(db, TEACHER_ROLES)
        used = await usage_repo.totals_by_owner(db, start)
    default = state.settings.teacher_monthly_token_cap
    return json_response(
        TeacherPage(
            items=[teacher_out(t, used.get(t.id) or _nothing(t), default) for t in teachers],
            default_token_cap=default,
            cap_currency=cap_currency(state),
            month_start=start,
            renews_at=next_month_start(now),
        )
    )


async def set_caps(request: Request) -> Response:
    """Replace a teacher's own caps; they apply to the next new session and the next say
    (both read them from SQL each time). Raises 404 for an unknown id or a non-teacher."""
    await require_admin(request)
    state = app_state(request)
    teacher_id = path_uuid(request, kind="teacher")
    body = await read_json(request, CapsIn)
    async with state.db.session() as db:
        teacher = await user_repo.get(db, teacher_id)
        if teacher is None or teacher.role not in TEACHER_ROLES:
            raise ApiError(404, "not_found", "That teacher does not exist.")
        await user_repo.set_caps(
            db,
            teacher,
            token_cap=body.monthly_token_cap,
            cost_micros_cap=body.monthly_cost_micros_cap,
        )
        used = await usage_repo.totals_since(db, teacher.id, month_start(datetime.now(UTC)))
    return json_response(teacher_out(teacher, used, state.settings.teacher_monthly_token_cap))


routes = [
    resource("/api/admin/teachers", get=list_teachers),
    resource("/api/admin/teachers/{id}/caps", put=set_caps),
]
