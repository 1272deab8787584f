"""The web page at `/`: its files, its headers, and where it loads the Socket.IO client from."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from pipechat.config import Settings
from pipechat.web.router import PIN_FILE
from support import copy_sqlite_template, live_server, make_settings

BUNDLE = b"/* stands in for socket.io.min.js */ window.io = function () {};\n"


async def fetch(settings: Settings, *paths: str) -> list[httpx.Response]:
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        return [await http.get(path) for path in paths]


def settings_for(sqlite_template: Path, tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(copy_sqlite_template(sqlite_template, tmp_path), tmp_path, **overrides)


async def test_page_loads_the_pinned_cdn_client_with_integrity(sqlite_template: Path,
                                                               tmp_path: Path) -> None:
    pin = json.loads(PIN_FILE.read_text())
    [page, local] = await fetch(settings_for(sqlite_template, tmp_path),
                                "/", "/web/vendor/socket.io.min.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    tag = (f'<script src="{pin["url"]}" integrity="{pin["integrity"]}" '
           'crossorigin="anonymous"></script>')
    assert tag in page.text
    assert f"script-src 'self' {pin['url']};" in page.headers["content-security-policy"]
    assert local.status_code == 404 and local.json()["code"] == 130


async def test_page_uses_the_local_copy_when_configured(sqlite_template: Path,
                                                        tmp_path: Path) -> None:
    client_dir = tmp_path / "dist"
    client_dir.mkdir()
    (client_dir / "socket.io.min.js").write_bytes(BUNDLE)
    settings = settings_for(sqlite_template, tmp_path, socketio_client_dir=client_dir)
    [page, bundle] = await fetch(settings, "/", "/web/vendor/socket.io.min.js")
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(BUNDLE).digest()).decode()
    assert (f'<script src="/web/vendor/socket.io.min.js" integrity="{integrity}" '
            'crossorigin="anonymous"></script>') in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "cdn." not in page.text
    assert bundle.status_code == 200 and bundle.content == BUNDLE
    assert bundle.headers["content-type"].startswith("text/javascript")


async def test_static_files_and_missing_ones(sqlite_template: Path, tmp_path: Path) -> None:
    [page, style, missing, *scripts] = await fetch(
        settings_for(sqlite_template, tmp_path), "/", "/web/app.css", "/web/nothing-here.js",
        "/web/app.js", "/web/api.js", "/web/messages.js")
    # Every script the page runs is a file: the CSP allows no inline script at all.
    assert re.findall(r"<script(?![^>]*\ssrc=)", page.text) == []
    assert '<script type="module" src="/web/app.js"></script>' in page.text
    for script in scripts:
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        # Text goes in with textContent only; nothing in the page parses strings as HTML.
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write",
                             script.text)
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404 and missing.json()["code"] == 130


def test_client_dir_without_the_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"does not contain socket\.io\.min\.js"):
        Settings(socketio_client_dir=tmp_path)
