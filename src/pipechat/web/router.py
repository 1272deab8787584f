"""The web chat page at `/`, its static files, and where the page gets the Socket.IO client."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from html import escape
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from pipechat.config import SOCKETIO_CLIENT_FILE, Settings

STATIC_DIR = Path(__file__).parent / "static"
PIN_FILE = Path(__file__).parent / "socketio_client.json"
# Where the install (setup.py) puts the pinned socket.io-client bundle.
PACKAGED_CLIENT_DIR = Path(__file__).parent / "vendor"
LOCAL_CLIENT_PATH = f"/web/vendor/{SOCKETIO_CLIENT_FILE}"
FAVICON_PATH = "/web/favicon.svg"
CLIENT_PLACEHOLDER = "<!-- socket.io client -->"
MAX_LENGTH_PLACEHOLDER = 'content="MESSAGE_MAX_LENGTH"'
log = logging.getLogger("pipechat.web")


@dataclass(frozen=True)
class ClientBundle:
    """Where the page loads the official Socket.IO client from, and its SRI hash."""

    src: str
    integrity: str
    local_copy: bytes | None = None

    @property
    def script_sources(self) -> str:
        """CSP `script-src`: this server, plus exactly the CDN file when that is used."""
        return "'self'" if self.local_copy is not None else f"'self' {self.src}"


def sri_hash(data: bytes) -> str:
    """A Subresource Integrity value for `data`."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def load_client_bundle(settings: Settings,
                       packaged_dir: Path = PACKAGED_CLIENT_DIR) -> ClientBundle:
    """PIPECHAT_SOCKETIO_CLIENT_DIR's copy, else the installed one, else the pinned CDN file."""
    client_dir = settings.socketio_client_dir
    if client_dir is None and (packaged_dir / SOCKETIO_CLIENT_FILE).is_file():
        client_dir = packaged_dir
    if client_dir is None:
        pin = json.loads(PIN_FILE.read_text())
        log.warning("the socket.io client was not installed with pipechat: the web page loads "
                    "it from %s, so browsers need internet access (reinstall where npm can "
                    "reach its registry, or set PIPECHAT_SOCKETIO_CLIENT_DIR)", pin["url"])
        return ClientBundle(pin["url"], pin["integrity"])
    # Read once: the hash in the page and the bytes served must never disagree.
    data = (client_dir / SOCKETIO_CLIENT_FILE).read_bytes()
    return ClientBundle(LOCAL_CLIENT_PATH, sri_hash(data), data)


def render_page(bundle: ClientBundle, settings: Settings) -> str:
    """index.html with the script tag of the client bundle and the limits the page checks."""
    tag = (f'<script src="{escape(bundle.src)}" integrity="{bundle.integrity}" '
           'crossorigin="anonymous"></script>')
    return ((STATIC_DIR / "index.html").read_text().replace(CLIENT_PLACEHOLDER, tag)
            .replace(MAX_LENGTH_PLACEHOLDER, f'content="{settings.message_max_length}"'))


def page_headers(bundle: ClientBundle) -> dict[str, str]:
    """A strict CSP: chat text can never become script, whatever slips through."""
    policy = (f"default-src 'self'; script-src {bundle.script_sources}; "
              "connect-src 'self'; style-src 'self'; img-src 'self' data:; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def install_web(app: FastAPI, settings: Settings) -> None:
    """Serve the page at `/`, its files under `/web/`, and the local client copy if any."""
    bundle = load_client_bundle(settings)
    page, headers = render_page(bundle, settings), page_headers(bundle)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Browsers ask for /favicon.ico on pages that name no icon (the JSON routes, say).
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    local_copy = bundle.local_copy
    if local_copy is not None:
        @app.get(LOCAL_CLIENT_PATH, include_in_schema=False)
        async def socketio_client() -> Response:
            return Response(local_copy, media_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/web", StaticFiles(directory=STATIC_DIR), name="web")
