"""Liveness and readiness."""

from __future__ import annotations

import httpx


async def test_healthz_and_readyz(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}
