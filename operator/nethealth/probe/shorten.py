"""Pure: text cut to fit a limit, after a whole word, with an ellipsis.

What people read (the hint in status, Events, the demo, the compact result) is often
longer than the room it gets. Cutting at a character count leaves half a word that
reads like a different one ("16 connects failed with ENETUNREAC"), so a cut ends after
the last whole word that fits, and an ellipsis says that something follows. A single
word longer than half the room (a path, a hash) is cut inside, rather than dropped.
"""

from __future__ import annotations

from typing import Final

ELLIPSIS: Final = "…"  # one character, three bytes in UTF-8
_TRAILING: Final = " \t\n,;:"


def chars(text: str, *, limit: int) -> str:
    """``text``, or its start and an ellipsis in at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    if limit < 2:
        return ""
    return _at_word(text[: limit - len(ELLIPSIS)]) + ELLIPSIS


def utf8(text: str, *, limit: int) -> str:
    """``text``, or its start and an ellipsis in at most ``limit`` bytes of UTF-8."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    if room < 1:
        return ""
    start = encoded[:room].decode("utf-8", errors="ignore")
    return _at_word(start) + ELLIPSIS


def _at_word(start: str) -> str:
    """``start`` (text that goes on) without its last, partial word and separators."""
    space = max(start.rfind(c) for c in " \t\n")
    if space >= len(start) // 2:
        start = start[:space]
    return start.rstrip(_TRAILING)
