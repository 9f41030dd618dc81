"""Client profiles and rubrics: a teacher's reusable library."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.http import json_response, path_uuid, read_json, require_teacher, resource
from server.profile_schemas import ProfileIn, ProfileOut
from server.routes_models import check_model
from server.schemas import RubricIn, RubricOut
from server.state import app_state
from storage.repos import profiles as profile_repo
from storage.repos import rubrics as rubric_repo


async def list_profiles(request: Request) -> Response:
    teacher = await require_teacher(request)
    async with app_state(request).db.session() as db:
        profiles = await profile_repo.list_profiles(db, teacher.id)
        items = [ProfileOut.model_validate(p).model_dump(mode="json") for p in profiles]
    return json_response({"items": items})


async def create_profile(request: Request) -> Response:
    teacher = await require_teacher(request)
    body = await read_json(request, ProfileIn)
    check_model(app_state(request).catalog, body.default_model, "default_model")
    async with app_state(request).db.session() as db:
        profile = await profile_repo.create_profile(db, teacher.id, **body.model_dump())
    return json_response(ProfileOut.model_validate(profile), 201)


async def get_profile(request: Request) -> Response:
    teacher = await require_teacher(request)
    profile_id = path_uuid(request, kind="profile")
    async with app_state(request).db.session() as db:
        profile = await profile_repo.get_profile(db, teacher.id, profile_id)
    return json_response(ProfileOut.model_validate(profile))


async def update_profile(request: Request) -> Response:
    teacher = await require_teacher(request)
    profile_id = path_uuid(request, kind="profile")
    body = await read_json(request, ProfileIn)
    check_model(app_state(request).catalog, body.default_model, "default_model")
    async with app_state(request).db.session() as db:
        profile = await profile_repo.update_profile(db, teacher.id, profile_id, **body.model_dump())
    return json_response(ProfileOut.model_validate(profile))


async def delete_profile(request: Request) -> Response:
    teacher = await require_teacher(request)
    profile_id = path_uuid(request, kind="profile")
    async with app_state(request).db.session() as db:
        await profile_repo.delete_profile(db, teacher.id, profile_id)
    return Response(status_code=204)


async def list_rubrics(request: Request) -> Response:
    teacher = await require_teacher(request)
    async with app_state(request).db.session() as db:
        rubrics = await rubric_repo.list_rubrics(db, teacher.id)
        items = [RubricOut.model_validate(r).model_dump(mode="json") for r in rubrics]
    return json_response({"items": items})


async def create_rubric(request: Request) -> Response:
    teacher = await require_teacher(request)
    body = await read_json(request, RubricIn)
    async with app_state(request).db.session() as db:
        rubric = await rubric_repo.create_rubric(db, teacher.id, **body.model_dump())
        out = RubricOut.model_validate(rubric)
    return json_response(out, 201)


async def get_rubric(request: Request) -> Response:
    teacher = await require_teacher(request)
    rubric_id = path_uuid(request, kind="rubric")
    async with app_state(request).db.session() as db:
        out = RubricOut.model_validate(await rubric_repo.get_rubric(db, teacher.id, rubric_id))
    return json_response(out)


async def update_rubric(request: Request) -> Response:
    teacher = await require_teacher(request)
    rubric_id = path_uuid(request, kind="rubric")
    body = await read_json(request, RubricIn)
    async with app_state(request).db.session() as db:
        rubric = await rubric_repo.update_rubric(db, teacher.id, rubric_id, **body.model_dump())
        out = RubricOut.model_validate(rubric)
    return json_response(out)


async def delete_rubric(request: Request) -> Response:
    teacher = await require_teacher(request)
    rubric_id = path_uuid(request, kind="rubric")
    async with app_state(request).db.session() as db:
        await rubric_repo.delete_rubric(db, teacher.id, rubric_id)
    return Response(status_code=204)


routes = [
    resource("/api/profiles", get=list_profiles, post=create_profile),
    resource("/api/profiles/{id}", get=get_profile, put=update_profile, delete=delete_profile),
    resource("/api/rubrics", get=list_rubrics, post=create_rubric),
    resource("/api/rubrics/{id}", get=get_rubric, put=update_rubric, delete=delete_rubric),
]
