"""Time, as the loop shells see it: the wall clock in production, a fake one in tests.

The shells never call ``datetime.now`` or ``asyncio.sleep`` themselves: they take a
``Clock``, so a test can run a check's whole life (runs an interval apart, verification
deadlines, cooldowns) in milliseconds by advancing fake time instead of waiting.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime.datetime:
        """The current time in UTC (status and records store it to the second)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime.datetime:
        # Full precision: a Lease's MicroTime sent with a zero fraction is re-serialised by
        # the client (>= 37) without one, which the API server rejects.
        return datetime.datetime.now(datetime.UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
