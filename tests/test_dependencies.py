"""What `scripts/test.sh` installs is what `requirements-test.lock` pins, and the patches apply."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from redis.utils import HIREDIS_AVAILABLE

from lockfile import LOCK_FILE, locked_versions, version_mismatches
from pipechat.realtime import engineio_writer, frameguard, upstream, uvicorn_ws
from pipechat.realtime.broadcast import BroadcastManager
from pipechat.realtime.lifetimes import LifetimeManager, LifetimeRoomcastManager
from pipechat.realtime.roomcast.manager import RoomcastManager

RUNTIME_LOCK = LOCK_FILE.with_name("requirements.lock")


def test_the_suite_runs_the_locked_versions() -> None:
    assert len(locked_versions()) > 20
    assert version_mismatches() == {}


def test_the_runtime_lock_is_the_test_lock_minus_test_tools() -> None:
    runtime = {line.split(" ")[0] for line in RUNTIME_LOCK.read_text().splitlines()
               if "==" in line and not line.startswith((" ", "#"))}
    test = {line.split(" ")[0] for line in Path(LOCK_FILE).read_text().splitlines()
            if "==" in line and not line.startswith((" ", "#"))}
    assert {"uvicorn==0.54.0", "python-socketio==5.18.1", "python-engineio==4.15.1"} <= runtime
    assert runtime <= test


def test_every_third_party_patch_applies_to_the_locked_versions() -> None:
    # Each patch falls back to the stock code when its fingerprint does not match; under the
    # locked versions that fallback would silently cost the measured speed and memory.
    assert engineio_writer.PATCH_APPLIES
    assert engineio_writer.LEAN_QUEUE_APPLIES
    assert uvicorn_ws.PATCH_APPLIES
    # Security fixes, not speed: without them an over-size long-polling POST hangs
    # (engineio_writer.AnsweringSocket) and malformed packets get no 103 reply (frameguard;
    # its binary check holds either way, and the send buffer cap needs LEAN_QUEUE_APPLIES).
    assert engineio_writer.POST_FIX_APPLIES
    assert frameguard.DISPATCH_APPLIES


def test_the_fingerprints_are_of_the_methods_the_patches_rely_on() -> None:
    # A changed method of these names fails here, before any behaviour test runs.
    dispatch = frameguard.socketio.AsyncServer._handle_eio_message
    assert upstream.source_sha256(dispatch) == frameguard.KNOWN_DISPATCH_SOURCE
    socket_class = engineio_writer.async_socket.AsyncSocket
    assert upstream.source_sha256(socket_class.handle_post_request) == (
        engineio_writer.KNOWN_POST_SOURCE)


def test_redis_parses_with_hiredis() -> None:
    # A pub/sub message costs about 16 µs to parse in redis-py's pure-Python parser, 4.6 µs in
    # hiredis (bench/pubsub_costs.py): the locks install it, and redis-py picks it up by itself.
    assert HIREDIS_AVAILABLE


def test_every_overridden_internal_is_the_locked_version() -> None:
    assert upstream.changed_internals() == []


def test_a_changed_internal_is_reported_with_a_warning(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check itself must be able to fail: a source it has not seen is reported by name.
    name = "socketio.AsyncManager.emit"
    code, _known = upstream.OVERRIDDEN[name]
    monkeypatch.setitem(upstream.OVERRIDDEN, name, (code, "0" * 64))
    with caplog.at_level(logging.WARNING, logger="pipechat.realtime"):
        upstream.warn_about_changed_internals()
    assert upstream.changed_internals() == [name]
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert name in caplog.records[0].getMessage()


def overridden_upstream(cls: type) -> list[tuple[str, type]]:
    """(name, python-socketio class) for each method `cls` itself redefines."""
    found = []
    for name, value in vars(cls).items():
        if not callable(value) or name.startswith("__"):
            continue
        for base in cls.__mro__[1:]:
            if name in vars(base):
                if base.__module__.startswith("socketio"):
                    found.append((name, base))
                break
    return found


@pytest.mark.parametrize("cls", [BroadcastManager, LifetimeManager, RoomcastManager,
                                 LifetimeRoomcastManager])
def test_every_python_socketio_method_a_manager_redefines_is_fingerprinted(cls: Any) -> None:
    # Listed by itself, or inside a class fingerprinted whole (AsyncPubSubManager).
    covered = {code for code, _known in upstream.OVERRIDDEN.values()}
    missing = [f"{base.__qualname__}.{name}" for name, base in overridden_upstream(cls)
               if vars(base)[name] not in covered and base not in covered]
    assert missing == []


def test_the_override_check_sees_redefined_methods() -> None:
    # RoomcastManager redefines python-socketio methods (else the check above proves nothing).
    assert {name for name, _base in overridden_upstream(RoomcastManager)} >= {
        "emit", "enter_room", "initialize", "_publish", "_listen", "basic_enter_room",
        "basic_leave_room"}
