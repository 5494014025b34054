"""metav1.Condition bookkeeping: set a condition without rewriting what did not change.

``lastTransitionTime`` moves only when ``status`` flips, as the API conventions require;
otherwise every reconcile would rewrite it and every status write would look like news
to watchers (and to Argo CD's health view).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any


def _format_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    existing: Iterable[Mapping[str, Any]],
    *,
    type: str,
    status: str,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime.datetime,
) -> list[dict[str, Any]]:
    """The condition list with one condition set; other conditions keep their order."""
    conditions = [dict(c) for c in existing]
    previous = next((c for c in conditions if c.get("type") == type), None)
    changed = previous is None or previous.get("status") != status
    updated: dict[str, Any] = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": (
            _format_time(now) if changed or previous is None else previous["lastTransitionTime"]
        ),
    }
    if generation is not None:
        updated["observedGeneration"] = generation
    if previous is None:
        return [*conditions, updated]
    return [updated if c is previous else c for c in conditions]


def remove_condition(existing: Iterable[Mapping[str, Any]], *, type: str) -> list[dict[str, Any]]:
    """The condition list without ``type``: a condition with nothing to report is absent,
    not a False with an invented reason."""
    return [dict(c) for c in existing if c.get("type") != type]
