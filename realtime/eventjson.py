"""An event's JSON text, as pydantic's ``model_dump_json`` writes it, by orjson where the
event's fields are plain values.

Every reply's deltas are encoded on the streaming path (a Redis worker stores each one,
and every worker sends each to its sockets), and ``model_dump_json`` took 1.9 us for a
delta where ``orjson.dumps`` of the model's field dict takes 0.2 (4% of a Redis worker's
samples at 100 sessions). A model whose fields are all strings, integers, booleans,
``None``, literals or enums of those, with no alias, exclusion or serializer, is written
the same by both (a test holds every event type to it); any other model, and any value
orjson refuses (a lone surrogate, an integer past 64 bits), goes through pydantic, which
keeps its own errors.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, Literal

import orjson
from pydantic import BaseModel

__all__ = ["dump_json", "is_flat"]

_SCALARS: frozenset[Any] = frozenset({str, int, bool, type(None)})
_flat: dict[type[BaseModel], bool] = {}


def dump_json(model: BaseModel, *, without: str | None = None) -> str:
    """``model.model_dump_json()``, leaving out the field ``without`` if given."""
    cls = type(model)
    flat = _flat.get(cls)
    if flat is None:
        flat = _flat[cls] = is_flat(cls)
    if flat:
        fields = model.__dict__
        if without is not None and without in fields:
            fields = dict(fields)
            del fields[without]
        try:
            return orjson.dumps(fields).decode()
        except orjson.JSONEncodeError:
            pass
    if without is None:
        return model.model_dump_json()
    return model.model_dump_json(exclude={without})


def is_flat(cls: type[BaseModel]) -> bool:
    """Whether orjson writes ``cls``'s field dict as pydantic would (see the module)."""
    decorators = cls.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers:
        return False
    if cls.model_computed_fields or cls.model_config.get("serialize_by_alias"):
        return False
    return all(
        field.exclude is None and field.serialization_alias is None and _plain(field.annotation)
        for field in cls.model_fields.values()
    )


def _plain(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return all(
            type(value) in _SCALARS or _plain(type(value)) for value in typing.get_args(annotation)
        )
    if origin is typing.Union or origin is types.UnionType:
        return all(_plain(member) for member in typing.get_args(annotation))
    if annotation in _SCALARS:
        return True
    return (
        isinstance(annotation, type)
        and issubclass(annotation, enum.Enum)
        and issubclass(annotation, (str, int))
        and all(type(member.value) in _SCALARS for member in annotation)
    )
