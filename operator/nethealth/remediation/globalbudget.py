"""Pure: the operator-wide cap on pods moved to hostNetwork, shared by every check's loop.

Each check's loop records how many of its pods its changed workloads hold; a plan may use
what the other checks leave. It lives in the operator's memory: after a restart it fills
again as each check's first run records its usage.
"""

from __future__ import annotations


class GlobalBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: dict[str, int] = {}

    def remaining(self, *, excluding: str) -> int:
        return self.limit - sum(n for uid, n in self._used.items() if uid != excluding)

    def record(self, uid: str, pods: int) -> None:
        self._used[uid] = pods

    def forget(self, uid: str) -> None:
        self._used.pop(uid, None)
