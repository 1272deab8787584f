"""`GET /metrics` is scraped like Prometheus would."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support import REDIS_URL, live_server, make_settings, need_service


def samples(text: str) -> dict[str, float]:
    return {sample.name: sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_metrics_report_database_health(api: httpx.AsyncClient) -> None:
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    assert values["pipechat_database_up"] == 1.0
    for name in ("pipechat_connected_sockets", "pipechat_messages_saved_total",
                 "pipechat_send_commit_seconds_count"):
        assert name in values


async def test_metrics_report_redis_health(database_url: str, tmp_path: Path,
                                           backend: str) -> None:
    redis_url = need_service("redis", REDIS_URL)
    settings = make_settings(database_url, tmp_path, redis_url=redis_url,
                             redis_channel=f"metrics-{tmp_path.name}")
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as api:
        values = samples((await api.get("/metrics")).text)
    assert values["pipechat_redis_up"] == 1.0
