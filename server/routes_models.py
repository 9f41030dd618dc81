"""The model catalog for teachers (``GET /api/models``), and the checks that a session or a
profile names a model the catalog offers.

What a teacher sees of an entry is its id, display name, provider, windows and prices:
never the key's variable, the base URL or anything else about where the model runs.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from llm.catalog import Catalog, ModelProvider
from server.errors import ApiError
from server.http import json_response, require_teacher, resource
from server.state import app_state
from storage.errors import NotFound
from storage.repos import profiles as profile_repo

__all__ = ["ModelCatalogOut", "ModelOut", "catalog_doc", "check_model", "routes", "session_model"]

UNKNOWN_MODEL = "no such model in the catalog (GET /api/models lists them)"


class ModelOut(BaseModel):
    """One model a teacher may pick. Prices are per million tokens in the catalog's
    currency (null: unpriced)."""

    id: str
    name: str
    provider: ModelProvider
    context_window: int
    max_reply_tokens: int
    input_price_per_mtok: float | None
    output_price_per_mtok: float | None


class ModelCatalogOut(BaseModel):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    #: The id a session gets when neither the request nor the profile names one.
    default: str
    items: list[ModelOut]


def _price(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def catalog_doc(catalog: Catalog) -> ModelCatalogOut:
    return ModelCatalogOut(
        currency=catalog.currency,
        default=catalog.default_id,
        items=[
            ModelOut(
                id=entry.id,
                name=entry.name,
                provider=entry.provider,
                context_window=entry.context_window,
                max_reply_tokens=entry.max_reply_tokens,
                input_price_per_mtok=_price(entry.input_price_per_mtok),
                output_price_per_mtok=_price(entry.output_price_per_mtok),
            )
            for entry in catalog.entries
        ],
    )


async def list_models(request: Request) -> Response:
    await require_teacher(request)
    catalog = app_state(request).catalog
    if catalog is None:  # a web process always has one; anything else is a wiring bug
        raise ApiError(503, "unavailable", "No model catalog is loaded.")
    return json_response(catalog_doc(catalog))


def check_model(catalog: Catalog | None, model_id: str | None, field: str) -> None:
    """422 naming ``field`` when ``model_id`` is given and not in ``catalog``."""
    if model_id is not None and catalog is not None and catalog.get(model_id) is None:
        raise ApiError(
            422, "validation_failed", "Some fields are not valid.", fields={field: UNKNOWN_MODEL}
        )


async def session_model(
    db: AsyncSession,
    catalog: Catalog | None,
    teacher_id: uuid.UUID,
    profile_id: uuid.UUID,
    asked: str | None,
    fields: dict[str, str],
) -> str | None:
    """The catalog id a new session is pinned to: the one asked for, else the profile's
    default (if the catalog still has it), else the catalog's default. An unknown id
    asked for goes into ``fields``. Pinning the id at creation keeps a session on its
    model when the catalog's default changes later."""
    if catalog is None:
        return asked
    if asked is not None:
        if catalog.get(asked) is None:
            fields["model"] = UNKNOWN_MODEL
        return asked
    try:
        profile = await profile_repo.get_profile(db, teacher_id, profile_id)
    except NotFound:
        return catalog.default_id  # the caller already refuses the profile
    preferred = catalog.get(profile.default_model)
    return (preferred or catalog.default).id


routes = [resource("/api/models", get=list_models)]
