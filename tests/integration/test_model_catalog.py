"""Several models at once from an LLM_CATALOG file, on a real ``vclient serve``: two
sessions on two catalog entries, each reply served by its own fake upstream (Mistral
through its SDK, an OpenAI-compatible server over httpx), each call recorded in
api_usage with its catalog id and its cost in millionths (SQLite, and PostgreSQL with
two workers on Redis); the catalog the teacher sees holds no key, variable or URL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import ApiUsage
from tests.integration.conftest import world_of
from tests.llm.fake_mistral import FakeMistral
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import Reply, serving
from tests.support.polling import polled

pytestmark = pytest.mark.slow

KEY = "sk-mistral-test-not-real"
CATALOG = """
currency = "EUR"
default = "local"

[[models]]
id = "mistral-small"
name = "Mistral Small"
provider = "mistral"
model = "mistral-small-latest"
base_url = "{mistral}"
api_key_env = "VC_TEST_MISTRAL_KEY"
context_window = 32000
max_reply_tokens = 300
input_price_per_mtok = 2.0
output_price_per_mtok = 6.5

[[models]]
id = "local"
name = "Our Llama"
provider = "openai"
model = "llama-test"
base_url = "{openai}/v1"
context_window = 8000
max_reply_tokens = 200
"""


@pytest.fixture
def backing(request: pytest.FixtureRequest, flavour: str) -> str:
    """``flavour``, its PostgreSQL and Redis set up before the test's event loop runs (their
    fixtures call asyncio.run, which cannot run inside it)."""
    if flavour == "redis":
        for name in ("postgres_url", "redis_url", "redis_prefix"):
            request.getfixturevalue(name)
    return flavour


async def usage_rows(url: str, session_id: str) -> list[ApiUsage]:
    """The session's api_usage rows once there is one (the flusher stores the reply's
    ``reply.usage`` within about 0.25 s of reply.done)."""
    db = Database(url)

    async def read() -> list[ApiUsage]:
        async with db.session() as s:
            query = select(ApiUsage).where(ApiUsage.session_id == uuid.UUID(session_id))
            return list((await s.execute(query)).scalars())

    try:
        rows = await polled(read, bool)
    finally:
        await db.aclose()
    assert rows, "no api_usage row within 10 s"
    return rows


async def test_two_sessions_on_two_models(
    tmp_path: Path, request: pytest.FixtureRequest, backing: str
) -> None:
    mistral = FakeMistral(script=[Reply(("From ", "Mistral."), 1_000, 500)])
    local = FakeOpenAI(script=[Reply(("From ", "our server."), 700, 20)])
    async with serving(mistral) as mistral_url, serving(local) as local_url:
        catalog = tmp_path / "catalog.toml"
        catalog.write_text(CATALOG.format(mistral=mistral_url, openai=local_url))
        env = {"LLM_CATALOG": str(catalog), "VC_TEST_MISTRAL_KEY": KEY}
        with world_of(request, tmp_path, backing, **env) as world:
            with world.http() as http:
                offered = http.get("/api/models")
            assert offered.status_code == 200
            assert [m["id"] for m in offered.json()["items"]] == ["mistral-small", "local"]
            for secret in (KEY, "VC_TEST_MISTRAL_KEY", mistral_url, local_url, "base_url"):
                assert secret not in offered.text

            on_mistral = world.new_session(model="mistral-small")
            on_default = world.new_session()  # no model: the catalog's default, "local"
            texts = {}
            for session in (on_mistral, on_default):
                async with world.connect(session, as_="student") as student:
                    await student.recv()
                    await student.send(type="say", text="How are you?", client_id="a")
                    done = await student.until(lambda e: e["type"] == "reply.done")
                    texts[session.id] = done["text"]
            with world.http() as http:
                pinned = http.get(f"/api/sessions/{on_default.id}").json()["model"]

            url = world.env["DATABASE_URL"]
            mistral_rows = await usage_rows(url, on_mistral.id)
            local_rows = await usage_rows(url, on_default.id)

    assert texts == {on_mistral.id: "From Mistral.", on_default.id: "From our server."}
    assert pinned == "local"
    [sent] = mistral.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "mistral-small-latest" and sent.body["max_tokens"] <= 300
    [sent_local] = local.requests
    assert sent_local.body["model"] == "llama-test" and sent_local.body["max_tokens"] <= 200
    assert json.dumps(sent_local.body).count("How are you?") == 1

    [row] = mistral_rows
    assert (row.provider, row.model, row.model_id) == (
        "mistral",
        "mistral-small-latest",
        "mistral-small",
    )
    assert (row.input_tokens, row.output_tokens) == (1_000, 500)
    # 1,000 x 2.0 + 500 x 6.5 = 5,250 millionths of a euro.
    assert (row.cost_micros, row.currency) == (5_250, "EUR")
    [row] = local_rows
    assert (row.provider, row.model, row.model_id) == ("openai", "llama-test", "local")
    assert (row.cost_micros, row.currency) == (None, "EUR")
