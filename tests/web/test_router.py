"""The web page at `/`: its files, its headers, and where it loads the Socket.IO client from."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from pipechat.config import Settings
from pipechat.web.router import (
    PACKAGED_CLIENT_DIR,
    PIN_FILE,
    STATIC_DIR,
    load_client_bundle,
    page_headers,
    render_page,
)
from support import copy_sqlite_template, live_server, make_settings


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


BUNDLE = b"/* stands in for socket.io.min.js */ window.io = function () {};\n"


async def fetch(settings: Settings, *paths: str) -> list[httpx.Response]:
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        return [await http.get(path) for path in paths]


def settings_for(sqlite_template: Path, tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(copy_sqlite_template(sqlite_template, tmp_path), tmp_path, **overrides)


async def test_page_loads_the_client_installed_with_pipechat(sqlite_template: Path,
                                                             tmp_path: Path) -> None:
    # setup.py put the pinned npm file into the package: the browser needs no internet.
    pin = json.loads(PIN_FILE.read_text())
    [page, bundle] = await fetch(settings_for(sqlite_template, tmp_path),
                                 "/", "/web/vendor/socket.io.min.js")
    assert (f'<script src="/web/vendor/socket.io.min.js" integrity="{pin["integrity"]}" '
            'crossorigin="anonymous"></script>') in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "https://" not in page.text
    assert bundle.status_code == 200 and sri(bundle.content) == pin["integrity"]
    assert (PACKAGED_CLIENT_DIR / "LICENSE").read_text().startswith("The MIT License")


def test_without_an_installed_client_the_page_uses_the_pinned_cdn_file(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pin = json.loads(PIN_FILE.read_text())
    with caplog.at_level(logging.WARNING, logger="pipechat.web"):
        bundle = load_client_bundle(Settings(), packaged_dir=tmp_path)
    tag = (f'<script src="{pin["url"]}" integrity="{pin["integrity"]}" '
           'crossorigin="anonymous"></script>')
    assert tag in render_page(bundle, Settings())
    assert f"script-src 'self' {pin['url']};" in page_headers(bundle)["Content-Security-Policy"]
    assert bundle.local_copy is None
    [warning] = caplog.records
    assert warning.levelname == "WARNING" and pin["url"] in warning.getMessage()


async def test_api_docs_and_their_assets_come_from_this_server(sqlite_template: Path,
                                                               tmp_path: Path) -> None:
    [docs, redoc, script, style] = await fetch(
        settings_for(sqlite_template, tmp_path), "/docs", "/redoc",
        "/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css")
    for page in (docs, redoc):
        assert page.status_code == 200
        # Every script, style and icon is a path on this server, none on a CDN.
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls and all(url.startswith("/") for url in urls), urls
    assert '<script src="/docs-assets/swagger-ui-bundle.js">' in docs.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert b"SwaggerUIBundle" in script.content
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


async def test_favicon(sqlite_template: Path, tmp_path: Path) -> None:
    [page, icon, linked] = await fetch(settings_for(sqlite_template, tmp_path),
                                       "/", "/favicon.ico", "/web/favicon.svg")
    assert '<link rel="icon" href="/web/favicon.svg" type="image/svg+xml">' in page.text
    for response in (icon, linked):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/svg+xml"
        assert response.content.startswith(b"<svg")


async def test_page_uses_the_local_copy_when_configured(sqlite_template: Path,
                                                        tmp_path: Path) -> None:
    client_dir = tmp_path / "dist"
    client_dir.mkdir()
    (client_dir / "socket.io.min.js").write_bytes(BUNDLE)
    settings = settings_for(sqlite_template, tmp_path, socketio_client_dir=client_dir)
    [page, bundle] = await fetch(settings, "/", "/web/vendor/socket.io.min.js")
    integrity = sri(BUNDLE)
    assert (f'<script src="/web/vendor/socket.io.min.js" integrity="{integrity}" '
            'crossorigin="anonymous"></script>') in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "cdn." not in page.text
    assert bundle.status_code == 200 and bundle.content == BUNDLE
    assert bundle.headers["content-type"].startswith("text/javascript")


async def test_static_files_and_missing_ones(sqlite_template: Path, tmp_path: Path) -> None:
    # Every module of the page, those added later included.
    modules = sorted(f"/web/{path.name}" for path in STATIC_DIR.glob("*.js"))
    assert {"/web/app.js", "/web/chats.js", "/web/members.js", "/web/sync.js"} <= set(modules)
    [page, style, missing, *scripts] = await fetch(
        settings_for(sqlite_template, tmp_path), "/", "/web/app.css", "/web/nothing-here.js",
        *modules)
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
