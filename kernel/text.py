"""Free text and names, whichever app stores them: how long a field may be, and which characters
a name or identifier may not hold.

Not clinical rules: the staff accounts, the measures and the course record apply the same limits
and the same character checks, so they live here rather than in courses.rules.
"""

import unicodedata

# The most free text one field holds: about 3,000 words for a clinical note, a few paragraphs for
# a reason given for an act. A paste of a whole document is refused, naming the field and limit.
TEXT_MAX = 20_000
REASON_MAX = 2_000


def text_length_error(text: str, limit: int) -> str | None:
    """The message for free text longer than its field holds, or None."""
    if len(text) > limit:
        return f"Keep this to {limit:,} characters or fewer; it has {len(text):,}."
    return None


# Characters a name or identifier may not hold: what is printed (a PDF header, a wristband, a
# list) must read as typed. C0 and C1 controls (category Cc: NUL, escape, line breaks) and the
# bidirectional marks, embeddings, overrides and isolates, which reorder what follows them: a
# U+202E before "Smith" prints "htimS", and before an MRN it swaps its digits.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Characters that print nothing though str.strip() keeps them: format characters (zero-width
# space and joiners, BOM) and the blank braille pattern.
_INVISIBLE = {"Cf", "Zs", "Zl", "Zp", "Cc"}
# Letters by category that print as nothing: the braille blank and the Hangul fillers.
_BLANK_LETTERS = {"\u2800", "\u115f", "\u1160", "\u3164", "\uffa0"}


def has_visible_character(text: str) -> bool:
    return any(unicodedata.category(ch) not in _INVISIBLE and ch not in _BLANK_LETTERS for ch in text)


# The joiners shape letters in Persian, Arabic and Indic names; every other format character
# (zero-width space, word joiner, BOM, soft hyphen, tag characters) prints nothing in a name.
NAME_JOINERS = frozenset("\u200c\u200d")


def name_character_error(text: str) -> str | None:
    """The message for a name or identifier holding a control, text-direction or invisible
    formatting character, or None."""
    if text and not has_visible_character(text):
        return "Nothing here prints: only spaces, zero-width or filler characters (such as the Hangul filler)."
    for ch in text:
        category = unicodedata.category(ch)
        if ch in BIDI_CONTROLS or category == "Cc" or (category == "Cf" and ch not in NAME_JOINERS):
            kind = "text-direction" if ch in BIDI_CONTROLS else "control" if category == "Cc" else "invisible"
            return (
                f"Remove the {kind} character U+{ord(ch):04X}: names and identifiers hold printable characters "
                "only (it changes how the rest is printed, or prints nothing)."
            )
    return None
