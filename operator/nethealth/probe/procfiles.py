"""Reading /proc text files the same way everywhere.

Several readers take facts from /proc (counters, sockets, their owners, the kernel's
version). Files vanish and differ between kernels; each reader decides what a missing
file means, so `lines` raises and `read_text` reads a missing file as empty.
"""

from __future__ import annotations


def lines(path: str) -> list[str]:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().splitlines()


def read_text(path: str) -> str:
    """The file's text, or "" when it cannot be read (a process gone, a file absent)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
