"""The one-emoji check behind reactions (`pipechat.messages.emoji`)."""

from __future__ import annotations

import pytest

from pipechat.messages.emoji import MAX_EMOJI_LENGTH, is_emoji

ACCEPTED = [
    "👍",  # a plain pictograph
    "❤️",  # a text-default symbol with VS16
    "❤",  # ... and without it
    "☺",  # BMP symbol, category So
    "👍🏽",  # skin tone
    "🇫🇷",  # a flag: two regional indicators
    "1️⃣", "#⃣", "*️⃣",  # keycaps
    "👨‍👩‍👧",  # ZWJ family
    "🏳️‍🌈",  # VS16 inside a ZWJ sequence
    "🧑🏽‍💻",  # skin tone inside a ZWJ sequence
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland (tags)
    "©️", "™",  # the few Latin-1 / letterlike emoji
    "\U0001faea",  # unassigned in this Python's Unicode data, in an emoji-only block
]

REFUSED = [
    "", " ", "a", "ab", "1", "#", "👍👍", "👍 ", " 👍", "👍a",
    "🇫",  # a lone regional indicator
    "🇫🇷🇩",  # three of them
    "🏽",  # a lone skin tone
    "👍\u200d",  # dangling joiner
    "\u200d👍",
    "👍\u200d\u200d👍",
    "❤\ufe0e",  # text presentation selector
    "e\u0301",  # a letter with a combining accent: one grapheme, not an emoji
    "─",  # box drawing: a symbol, not in an emoji block
    "\u2800",  # braille blank
    "1\u20e3\u20e3",
    "🏴\U000e0067",  # a tag sequence without its end
    "\U000e007f",
    "👍" + "\u200d👍" * 20,  # too long
    "\x00",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_one_emoji_is_accepted(text: str) -> None:
    assert is_emoji(text)


@pytest.mark.parametrize("text", REFUSED)
def test_anything_else_is_refused(text: str) -> None:
    assert not is_emoji(text)


def test_length_is_bounded_before_parsing() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert is_emoji(family) and len(family) <= MAX_EMOJI_LENGTH
    assert not is_emoji("\u200d".join(["👍"] * MAX_EMOJI_LENGTH))
