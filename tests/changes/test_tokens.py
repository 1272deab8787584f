"""Sync tokens: what they encode, what they refuse, and how a huge one is coarsened."""

from __future__ import annotations

import pytest

from pipechat.changes.service import MAX_TOKEN_IN_PROGRESS, MAX_TOKEN_LENGTH, SyncToken


def test_a_token_round_trips_and_tells_new_positions_from_seen_ones() -> None:
    token = SyncToken.decode("120.100.117")
    assert token == SyncToken(120, (100, 117)) and token.encode() == "120.100.117"
    assert [p for p in (99, 100, 101, 117, 119, 120, 500) if token.is_new(p)] == [
        100, 117, 120, 500]


@pytest.mark.parametrize("text", ["", "x", "1.", ".1", "5.7", "9.3.2", "9.3.3", "1\n",
                                  "99999999999999999999", "9223372036854775808", "-1", "1 "])
def test_malformed_tokens_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        SyncToken.decode(text)


def test_too_many_transactions_in_progress_make_an_older_token_that_still_fits() -> None:
    busy = SyncToken(10_000, tuple(range(100, 100 + MAX_TOKEN_IN_PROGRESS + 1)))
    coarse = busy.bounded()
    assert coarse == SyncToken(100)
    # Nothing new to the exact token is seen by the coarse one.
    assert all(coarse.is_new(p) for p in range(0, 20_000) if busy.is_new(p))
    worst = SyncToken(2**63 - 1, tuple(range(2**62, 2**62 + MAX_TOKEN_IN_PROGRESS)))
    assert worst.bounded() == worst and len(worst.encode()) <= MAX_TOKEN_LENGTH
    assert SyncToken.decode(worst.encode()) == worst
