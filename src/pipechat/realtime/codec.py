"""The JSON module python-socketio encodes packets with: orjson, stdlib for what it refuses."""

from __future__ import annotations

import json
from typing import Any

import orjson


class OrjsonCodec:
    """`dumps`/`loads` as python-socketio calls them, backed by orjson.

    orjson refuses a few things the stdlib takes (NaN when parsing, integers beyond 64 bits
    when writing): those fall back to `json`, so such input reaches validation and gets a
    clear error instead of breaking the packet.
    """

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        """Serialise compactly (the separators python-socketio asks for are orjson's own)."""
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, separators=(",", ":"))

    @staticmethod
    def loads(text: str | bytes, **_options: Any) -> Any:
        """Parse a packet's JSON."""
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(text)
        except RecursionError:
            # Nesting deeper than orjson's limit: refused as unreadable, like any bad JSON.
            raise ValueError("JSON nested too deeply") from None
