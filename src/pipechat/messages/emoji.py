"""Is a text exactly one emoji? A small check after Unicode's emoji sequence grammar (UTS #51).

No kept dependency knows grapheme clusters or the Emoji properties, and the standard library's
`unicodedata` has no Emoji property either. So the pictographic base characters are the
assigned symbols (general category So, or the few punctuation marks that are emoji) in the
blocks where Unicode places emoji, plus the unassigned code points of the emoji-only blocks
(emoji newer than this Python's Unicode database). Around such a base the grammar allows
what UTS #51 does: a variation selector-16 or a skin-tone modifier, a tag sequence (the
subdivision flags), and zero-width-joiner sequences of such elements; besides, a pair of
regional indicators (a country flag) and a keycap ([0-9#*] FE0F? 20E3). Anything else is not
an emoji: text, two emoji, a lone modifier, a dangling joiner. A little lenient by design (any
well-formed sequence passes, RGI or not): what it lets through is still one symbol.
"""

from __future__ import annotations

import unicodedata

# Sequences longer than this are not emoji (the longest RGI sequences have 10 code points).
MAX_EMOJI_LENGTH = 32

ZWJ = "\u200d"
VS16 = "\ufe0f"
KEYCAP = "\u20e3"
KEYCAP_BASES = frozenset("0123456789#*")
TAG_END = "\U000e007f"

# Blocks, outside the plane-1 emoji blocks, that hold emoji (© ® ‼ ⁉ ™, information, arrows, ⌚ ⏩,
# Ⓜ, ▪ ◻, ☀-➿, ⤴ ⤵, ⬅ ⭐ ⭕, 〰 〽 ㊗ ㊙).
_BMP_EMOJI = ((0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
              (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x21AA), (0x231A, 0x23FF),
              (0x24C2, 0x24C2), (0x25AA, 0x25FE), (0x2600, 0x27BF), (0x2934, 0x2935),
              (0x2B05, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3299))
_SYMBOL_CATEGORIES = frozenset({"So", "Sm", "Po", "Pd"})
# Plane 1: Mahjong tiles to Symbols and Pictographs Extended-A.
_PLANE1_EMOJI = (0x1F000, 0x1FAFF)
_REGIONAL = (0x1F1E6, 0x1F1FF)
_MODIFIERS = (0x1F3FB, 0x1F3FF)
_TAGS = (0xE0020, 0xE007E)


def _within(char: str, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= ord(char) <= bounds[1]


def is_pictographic(char: str) -> bool:
    """Whether `char` can be the base of an emoji."""
    if _within(char, _REGIONAL) or _within(char, _MODIFIERS):
        return False  # only in pairs, or after a base
    category = unicodedata.category(char)
    if _within(char, _PLANE1_EMOJI):
        # Cn: an emoji newer than this Python's Unicode data (these blocks hold only symbols).
        return category in ("So", "Cn")
    code = ord(char)
    return category in _SYMBOL_CATEGORIES and any(lo <= code <= hi for lo, hi in _BMP_EMOJI)


def _is_element(text: str) -> bool:
    """A base, then an optional VS16 or skin tone, then an optional tag sequence."""
    if not is_pictographic(text[0]):
        return False
    rest = text[1:]
    if rest and (rest[0] == VS16 or _within(rest[0], _MODIFIERS)):
        rest = rest[1:]
    if rest and rest[-1] == TAG_END:
        tags = rest[:-1]
        if tags and all(_within(char, _TAGS) for char in tags):
            rest = ""
    return not rest


def is_emoji(text: str) -> bool:
    """Whether `text` is exactly one emoji (one grapheme cluster), nothing before or after."""
    if not text or len(text) > MAX_EMOJI_LENGTH:
        return False
    if len(text) == 2 and all(_within(char, _REGIONAL) for char in text):
        return True  # a flag
    if text[0] in KEYCAP_BASES:
        return text[1:] in (KEYCAP, VS16 + KEYCAP)
    return all(element and _is_element(element) for element in text.split(ZWJ))
