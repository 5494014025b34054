"""Pure: whether an image reference is one an administrator allowed.

A tag can be moved to other content; a digest (``repo@sha256:...``) cannot. So an allowed
entry given by digest admits any reference carrying that same digest (the same bytes,
whatever registry or tag names them), and one given by tag or name admits exactly that
string. The chart pins the operator and probe images by digest (``image.digest``) and the
admission policy for the operator's token compares them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_DIGEST: Final = re.compile(r"@(?P<digest>[a-z0-9]+:[a-f0-9]{32,})$")


def digest(reference: str) -> str | None:
    """``sha256:...`` of ``name[:tag]@sha256:...``; None for a reference without one."""
    found = _DIGEST.search(reference)
    return found["digest"] if found else None


def allowed(reference: str, *, allowlist: Iterable[str]) -> bool:
    entries = list(allowlist)
    if reference in entries:
        return True
    wanted = digest(reference)
    return wanted is not None and any(digest(entry) == wanted for entry in entries)
