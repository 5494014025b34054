"""SIGTERM as KeyboardInterrupt, for whatever starts the project's own cluster: the e2e
session and the cluster benchmarks. Killed (by CI's timeout, by ``kill``), they still run
their ``finally`` blocks and tear the node down instead of leaving it running."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt inside the block; the old handler after it."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
