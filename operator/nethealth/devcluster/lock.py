"""One harness at a time per run directory: an advisory lock beside it.

A test session holds the lock for the whole life of its node, so a second
session on the same machine (one node fits a machine: kube-proxy's chains and
the ``kubepods`` cgroups are machine-wide) waits or fails saying who holds it,
instead of tearing the first one's node down. The holder's pid is written into
the lock file for that message. Holding is re-entrant within a process: a test
that restarts the session's node calls ``up`` under the session's lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pathlib
import time
from collections.abc import Iterator
from typing import IO

from nethealth.devcluster import errors, layout

POLL_SECONDS = 0.5


# Locks this process holds: ``running`` holds one for a whole test session, and
# an ``up`` or ``down`` inside it (a test restarting the node) must not deadlock.
_held: set[pathlib.Path] = set()


@contextlib.contextmanager
def held(run: layout.RunLayout, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the run directory's lock; wait up to ``wait`` seconds for another holder."""
    if run.lock in _held:
        yield
        return
    run.lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with run.lock.open("a+") as handle:
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise errors.Busy(
                    f"another harness (pid {holder}) is using {run.root}; wait for it, or "
                    f"reuse its node with NETHEALTH_KUBECONFIG={run.admin_kubeconfig}"
                )
            time.sleep(POLL_SECONDS)
        _write_holder(handle)
        _held.add(run.lock)
        try:
            yield
        finally:
            _held.discard(run.lock)
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _write_holder(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
