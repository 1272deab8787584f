"""The OpenAPI schema is served and the whole REST API honours it under property-based fuzzing.

schemathesis generates requests from the server's own schema (valid and invalid ones) and
sends them, with a valid access token, to a real `pipechat serve` process; every answer must
be a documented status with a body matching its declared model, and never a 5xx; invalid
requests must be refused. Operations with a `cid` are also fuzzed against a chat the token's
user is in, so the fuzzer reaches real history pages rather than only 404s. (schemathesis's
pytest plugin does not run under this pytest, so its Python API drives hypothesis directly.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from pipechat.config import Settings
from pipechat.db import Database
from pipechat.messages.writer import MessageWriter
from support import PASSWORD, TEST_SECRET, ServerProcess

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
EXAMPLES = 25
REPLAY_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass
class FuzzTarget:
    """A running server, a member's token and the id of a chat with history."""

    url: str
    headers: dict[str, str]
    chat_id: int


def _register(url: str, nickname: str) -> tuple[int, dict[str, str]]:
    tokens = httpx.post(f"{url}/auth/register/email", json={
        "nickname": nickname, "email": f"{nickname}@example.com", "password": PASSWORD})
    assert tokens.status_code == 201, tokens.text
    headers = {"Authorization": f"Bearer {tokens.json()['accessToken']}"}
    return int(httpx.get(f"{url}/users/me", headers=headers).json()["id"]), headers


async def _write_history(database_url: str, chat_id: int, author_id: int) -> None:
    db = Database(Settings(database_url=database_url, jwt_secret=TEST_SECRET))
    writer = MessageWriter(db)
    writer.start()
    await asyncio.gather(*(writer.submit(chat_id, author_id, "fuzzer", f"m{i}", None)
                           for i in range(30)))
    await writer.stop()
    await db.dispose()


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    database_url = f"sqlite:///{data_dir / 'pipechat.db'}"
    server = ServerProcess({"PIPECHAT_DATABASE_URL": database_url,
                            "PIPECHAT_DATA_DIR": str(data_dir),
                            "PIPECHAT_JWT_SECRET": TEST_SECRET,
                            "PIPECHAT_ARGON2_TIME_COST": "1",
                            "PIPECHAT_ARGON2_MEMORY_KIB": "1024",
                            "PIPECHAT_LOG_LEVEL": "WARNING"},
                           log_path=data_dir / "server.log").start()
    try:
        user_id, headers = _register(server.url, "fuzzer")
        friend_id, _ = _register(server.url, "friend")
        chat = httpx.post(f"{server.url}/chats", json={"userIds": [friend_id]}, headers=headers)
        assert chat.status_code == 201, chat.text
        asyncio.run(_write_history(database_url, chat.json()["id"], user_id))
        yield FuzzTarget(server.url, headers, chat.json()["id"])
    finally:
        server.stop()


def test_docs_serve_the_schema(fuzz_target: FuzzTarget) -> None:
    docs = httpx.get(f"{fuzz_target.url}/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    paths = httpx.get(f"{fuzz_target.url}/openapi.json").json()["paths"]
    history = paths["/chats/{cid}/messages"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(history["responses"])
    assert {p["name"] for p in history["parameters"]} == {
        "cid", "page", "take", "order__createdAt", "where__id__less_than",
        "where__id__more_than"}
    assert {"200", "400", "401"} <= set(paths["/chats"]["get"]["responses"])
    assert {"201", "400", "401"} <= set(paths["/chats"]["post"]["responses"])


def auth_headers(case: Any, target: FuzzTarget) -> dict[str, str] | None:
    """The member's token, unless this case is about a broken or missing header."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if header is not None and header.mode is GenerationMode.NEGATIVE:
        return None
    return target.headers


def fuzz_operation(target: FuzzTarget, operation: Any, mode: GenerationMode,
                   path_parameters: dict[str, Any] | None) -> None:
    """Send `EXAMPLES` generated requests for one operation; raise on the first bad answer."""
    checks = CHECKS if path_parameters is None else REPLAY_CHECKS

    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=target.url, headers=auth_headers(case, target),
                               checks=checks, timeout=30)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_api_honours_its_schema(fuzz_target: FuzzTarget, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_target.url}/openapi.json")
    failures: list[str] = []
    fuzzed: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label == "POST /auth/logout":
            continue  # it would end the fuzzer's own session (tests/auth/test_sessions.py)
        passes: list[dict[str, Any] | None] = [None]
        if "{cid}" in operation.path and mode is GenerationMode.POSITIVE:
            # Random ids are mostly missing chats; also fuzz the rest against a real one.
            passes.append({"cid": fuzz_target.chat_id})
        for path_parameters in passes:
            try:
                fuzz_operation(fuzz_target, operation, mode, path_parameters)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break, e.g. GET /healthz
                continue
            except Exception as exc:
                failures.append(f"{operation.label} {path_parameters or ''}: {exc}")
        fuzzed.append(operation.label)
    assert "GET /chats/{cid}/messages" in fuzzed and "POST /chats" in fuzzed
    assert not failures, "\n\n".join(failures)
