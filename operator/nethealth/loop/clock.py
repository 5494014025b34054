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
        """The current time in UTC, to the second (what status and records store)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
