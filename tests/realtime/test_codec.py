"""The orjson packet codec agrees with the stdlib where orjson alone would not."""

from __future__ import annotations

import json
import math

import pytest

from pipechat.realtime.codec import OrjsonCodec


@pytest.mark.parametrize("value", [
    {"chatId": 1, "message": "héllo ✓", "nested": [1, 2.5, None, True]},
    ["receive_message", {"id": 2**63 - 1}],
    {"big": 2**70},
])
def test_round_trip_matches_stdlib(value: object) -> None:
    encoded = OrjsonCodec.dumps(value, separators=(",", ":"))
    assert json.loads(encoded) == value
    assert OrjsonCodec.loads(encoded) == value
    assert encoded == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_inputs_only_the_stdlib_parses_still_decode() -> None:
    # A client may send these; they must reach validation rather than break the packet.
    assert math.isnan(OrjsonCodec.loads('{"chatId": NaN}')["chatId"])
    with pytest.raises(ValueError):
        OrjsonCodec.loads("{not json")
