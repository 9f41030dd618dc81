"""docs/deploy.md stays true: every UPPER_CASE name it mentions is a real setting (or one
of the few outside variables it names on purpose), the defaults its tables give are the
code's, and its nginx example proxies the real socket route with what the route needs."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.routing import Match, WebSocketRoute

from server import ws_endpoint
from server.file_upload import FORM_OVERHEAD_BYTES
from server.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"

# Environment variables the guide names that are not our settings, and why.
NOT_SETTINGS = {
    "FORWARDED_ALLOW_IPS": "read by uvicorn itself (trusted proxy addresses)",
    "WEB_CONCURRENCY": "uvicorn's worker count variable, which vclient serve ignores",
}

SETTING_NAME = re.compile(r"(?<![A-Za-z0-9_$])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])")
TABLE_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)
NGINX_BLOCK = re.compile(r"```nginx\n(.*?)```", re.DOTALL)
LOCATION = re.compile(r"location\s+(=\s+)?(\S+)\s*\{(.*?)\n\s*\}", re.DOTALL)
SIZE = re.compile(r"(\d+)([kmg]?)$")


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def setting_fields() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def nginx_config() -> str:
    blocks = NGINX_BLOCK.findall(doc())
    assert len(blocks) == 1, "the guide has one nginx example"
    return str(blocks[0])


def locations() -> dict[str, str]:
    """Each location's path (``=`` exact ones included) and its body."""
    return {path: body for _exact, path, body in LOCATION.findall(nginx_config())}


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)?", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "m" else 1)


def rendered_default(name: str) -> str:
    value = Settings.model_fields[name.lower()].default
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_upper_case_name_is_a_setting() -> None:
    fields = setting_fields()
    named = set(SETTING_NAME.findall(doc()))
    assert len(named) > 30, "the guide names the settings it relies on"
    unknown = sorted(named - fields - NOT_SETTINGS.keys())
    assert unknown == [], f"not settings of server.settings.Settings: {unknown}"


def test_the_exceptions_are_not_settings_and_are_used() -> None:
    # An exception must not hide a misspelt setting, nor outlive the text that needed it.
    assert not NOT_SETTINGS.keys() & setting_fields()
    named = set(SETTING_NAME.findall(doc()))
    assert NOT_SETTINGS.keys() <= named


def test_the_table_defaults_are_the_codes() -> None:
    checked = 0
    for name, cell in TABLE_ROW.findall(doc()):
        if name not in setting_fields():
            continue
        cell = cell.strip()
        literal = re.fullmatch(r"`([^`]*)`", cell)
        shown = literal[1] if literal else cell
        if literal is None and shown not in ("unset", "empty"):
            continue  # a description, not a default
        assert shown == rendered_default(name), f"{name}: the guide says {cell}"
        checked += 1
    assert checked >= 20


def test_the_socket_location_is_the_real_route() -> None:
    (route,) = [r for r in ws_endpoint.routes if isinstance(r, WebSocketRoute)]
    upgrading = {path: body for path, body in locations().items() if "$http_upgrade" in body}
    assert len(upgrading) == 1, "one location upgrades to WebSocket"
    ((prefix, _body),) = upgrading.items()
    assert prefix == route.path.split("{", 1)[0]
    path = f"{prefix}{uuid.uuid4()}"
    match, _child = route.matches({"type": "websocket", "path": path})
    assert match is Match.FULL, f"{route.path} does not serve {path}"


def test_the_socket_location_carries_what_the_worker_needs() -> None:
    (body,) = [body for body in locations().values() if "$http_upgrade" in body]
    for line in (
        "proxy_set_header Upgrade           $http_upgrade;",
        'proxy_set_header Connection        "upgrade";',
        # The origin check compares Origin with the scheme and Host the worker sees.
        "proxy_set_header Host              $host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;",
    ):
        assert line in body
    config = nginx_config()
    assert "proxy_http_version 1.1;" in config
    read_timeout = re.search(r"proxy_read_timeout (\S+);", body)
    assert read_timeout, "the socket location sets proxy_read_timeout"
    assert seconds(read_timeout[1]) > Settings.model_fields["ws_ping_seconds"].default


@pytest.mark.parametrize("header", ["Host", "X-Forwarded-Proto", "X-Forwarded-For"])
def test_every_proxying_location_sets_the_forwarded_headers(header: str) -> None:
    # nginx inherits proxy_set_header only into locations that set none of their own.
    proxying = [body for body in locations().values() if "proxy_pass" in body]
    assert len(proxying) >= 2
    assert all(f"proxy_set_header {header} " in body for body in proxying)


def test_uploads_fit_through_the_proxy() -> None:
    found = re.search(r"client_max_body_size (\S+);", nginx_config())
    assert found, "the example sets client_max_body_size"
    size = SIZE.fullmatch(found[1].lower())
    assert size, found[1]
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[size[2]]
    largest_upload = Settings.model_fields["max_file_bytes"].default + FORM_OVERHEAD_BYTES
    assert int(size[1]) * scale >= largest_upload
