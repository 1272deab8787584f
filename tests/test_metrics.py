"""`GET /metrics` is scraped like Prometheus would."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from realtime.peers import Peer
from support import (
    REDIS_URL,
    LiveServer,
    free_port,
    live_server,
    make_settings,
    need_service,
    register,
)


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


def labelled(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_metrics_count_sockets_messages_and_errors(api: httpx.AsyncClient,
                                                         server: LiveServer) -> None:
    alice, bob = await register(api), await register(api)
    before = (await api.get("/metrics")).text
    sender, receiver = Peer(), Peer()
    await sender.connect(server.url, alice.access_token)
    await receiver.connect(server.url, bob.access_token)
    try:
        created = await sender.call("create_chat", {"userIds": [bob.id]})
        chat_id = created["data"]["id"]
        for peer in (sender, receiver):
            assert (await peer.call("enter_chat", {"chatIds": [chat_id]}))["status"] == "ok"
        assert (await sender.call("send_message", {"chatId": chat_id, "message": "hi"}))[
            "status"] == "ok"
        await receiver.next("receive_message")
        missing = await sender.call("enter_chat", {"chatIds": [999_999]})
        assert missing["code"] == 100
        during = (await api.get("/metrics")).text
    finally:
        await sender.close()
        await receiver.close()

    def delta(name: str, **labels: str) -> float:
        return labelled(during, name, **labels) - labelled(before, name, **labels)

    assert delta("pipechat_connected_sockets") == 2
    assert delta("pipechat_messages_received_total") == 1
    assert delta("pipechat_messages_saved_total") == 1
    assert delta("pipechat_messages_delivered_total") == 1
    assert delta("pipechat_errors_total", code="100") == 1
    assert delta("pipechat_send_commit_seconds_count") == 1


async def test_a_metrics_token_is_required_when_set(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, metrics_token="scrape-secret-0123456789")
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as api:
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer scrape-secret-012345678"},
                        {"Authorization": "Basic scrape-secret-0123456789"}):
            refused = await api.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["code"] == 110 and "pipechat_" not in refused.text
        allowed = await api.get("/metrics",
                                headers={"Authorization": "Bearer scrape-secret-0123456789"})
        assert allowed.status_code == 200
        assert samples(allowed.text)["pipechat_database_up"] == 1.0


async def test_metrics_can_move_to_a_listener_of_their_own(database_url: str,
                                                          tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(database_url, tmp_path, metrics_port=port,
                             metrics_token="scrape-secret-0123456789")
    async with live_server(settings) as server, httpx.AsyncClient() as http:
        public = await http.get(f"{server.url}/metrics")
        assert public.status_code == 404 and public.json()["code"] == 130
        own = f"http://127.0.0.1:{port}/metrics"
        refused = await http.get(own)
        assert refused.status_code == 401 and refused.json()["code"] == 110
        scraped = await http.get(own, headers={
            "Authorization": "Bearer scrape-secret-0123456789"})
        assert scraped.status_code == 200
        values = samples(scraped.text)
        assert values["pipechat_database_up"] == 1.0
        assert "pipechat_connected_sockets" in values
    # The listener went away with the server.
    with pytest.raises(httpx.ConnectError):
        await http_get(own)


async def http_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)
