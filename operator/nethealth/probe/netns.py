"""Run a function inside another network namespace without leaking into the caller.

A process (or thread) that enters a network namespace with ``setns(2)`` stays there, and
every socket it opens afterwards belongs to it. The probe must measure three namespaces
at once and then still talk to the world from its own, so each excursion happens in a
forked child: the child enters the namespace, calls the function, sends the JSON of its
return value back through a pipe and exits. The parent's namespace, file descriptors and
threads are never touched, and the child is always reaped (killed first on a timeout).

Python 3.11 has no ``os.setns``, so libc's ``setns`` is called through ctypes.

Capabilities: entering another network namespace needs ``CAP_SYS_ADMIN`` (in the user
namespace owning it); opening ``/proc/<pid>/ns/net`` of a process of another user also
needs ``CAP_SYS_PTRACE`` (ptrace read access). Without them this module raises
`NetnsError` naming what is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any, Final, TypeVar

T = TypeVar("T")

CLONE_NEWNET: Final = 0x40000000
PR_SET_PDEATHSIG: Final = 1

# The child's exit status when it wrote a result (success or a caught exception).
_REPORTED: Final = 0
_READ_CHUNK: Final = 65536


class NetnsError(Exception):
    """The function could not be run in the namespace, or it failed there."""


def enter(netns: str) -> None:
    """Move the calling process (thread) into the network namespace at ``netns``.

    Only for code that is already in a disposable child: there is no way back.
    """
    try:
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NetnsError(f"no such network namespace: {netns}") from None
    except PermissionError:
        raise NetnsError(
            f"permission denied opening network namespace {netns}"
            " (needs CAP_SYS_PTRACE for another user's process)"
        ) from None
    except OSError as e:
        raise NetnsError(f"cannot open network namespace {netns}: {e.strerror}") from None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            if code == errno.EPERM:
                raise NetnsError(
                    f"permission denied entering network namespace {netns} (needs CAP_SYS_ADMIN)"
                )
            if code == errno.EINVAL:
                raise NetnsError(f"not a network namespace: {netns}")
            raise NetnsError(f"setns({netns}) failed: {os.strerror(code)}")
    finally:
        os.close(fd)


class Child:
    """A forked child running one function in one namespace; collect it with `wait`."""

    def __init__(self, *, pid: int, fd: int, netns: str) -> None:
        self.pid = pid
        self.netns = netns
        self._fd: int | None = fd
        self._reaped = False

    def wait(self, timeout: float | None = None) -> Any:
        """Return the function's value; raise `NetnsError` for any failure. Always reaps."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            payload = self._read_all(deadline=deadline)
            status = self._reap(deadline=deadline)
        finally:
            self.close()
        return _decode(netns=self.netns, payload=payload, status=status)

    def close(self) -> None:
        """Kill (if still running) and reap the child and close the pipe; idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self._reaped = True

    def _read_all(self, *, deadline: float | None) -> bytes:
        assert self._fd is not None
        chunks: list[bytes] = []
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._fd], [], [], remaining)
            if not readable:
                raise NetnsError(f"timed out in network namespace {self.netns}")
            chunk = os.read(self._fd, _READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def _reap(self, *, deadline: float | None) -> int:
        # The pipe is closed, so the child is exiting: a short grace is enough.
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._reaped = True
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise NetnsError(f"timed out in network namespace {self.netns}")
            time.sleep(0.005)


def spawn(netns: str, func: Callable[..., Any], *args: Any) -> Child:
    """Start ``func(*args)`` in a child inside ``netns``; collect it with `Child.wait`.

    Several children may run at once (the probe measures three namespaces concurrently).
    """
    rfd, wfd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, measured through the parent
        os.close(rfd)
        _child(parent=parent, wfd=wfd, netns=netns, func=func, args=args)
    os.close(wfd)
    return Child(pid=pid, fd=rfd, netns=netns)


def run_in(
    netns: str,
    func: Callable[..., T],
    *args: Any,
    timeout: float | None = None,
) -> T:
    """Run ``func(*args)`` inside the network namespace at path ``netns``; return its value.

    The value travels as JSON, so it must be JSON-serializable (and comes back as JSON
    types: tuples become lists). Any failure raises `NetnsError` with a message saying
    what failed: no such namespace, missing capability, the function's exception, a
    crash of the child, or the timeout.
    """
    result: T = spawn(netns, func, *args).wait(timeout)
    return result


def _child(
    *, parent: int, wfd: int, netns: str, func: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    # Whatever happens, leave through os._exit: never return into the caller's stack
    # (pytest, the CLI), never run its atexit handlers, never flush its buffers twice.
    code = 1
    try:
        try:
            _die_with_parent(parent)
            enter(netns)
            document: dict[str, Any] = {"value": func(*args)}
        except NetnsError as e:
            document = {"error": str(e)}
        except BaseException as e:  # report everything, the child exits anyway
            where = traceback.extract_tb(e.__traceback__)[-1:]
            place = f" at {where[0].filename}:{where[0].lineno}" if where else ""
            document = {"error": f"in network namespace {netns}: {type(e).__name__}: {e}{place}"}
        try:
            data = json.dumps(document).encode()
        except (TypeError, ValueError) as e:
            data = json.dumps({"error": f"result is not JSON-serializable: {e}"}).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(wfd, view) :]
        code = _REPORTED
    finally:
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    # A probe killed mid-run (a Job's deadline, SIGKILL) must not leave its children
    # measuring on in the pod's namespace. (The signal follows the forking *thread*:
    # spawn from a thread that outlives the children.)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _decode(*, netns: str, payload: bytes, status: int) -> Any:
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise NetnsError(f"child in network namespace {netns} crashed ({name})")
    if not payload:
        raise NetnsError(
            f"child in network namespace {netns} exited with status"
            f" {os.waitstatus_to_exitcode(status)} without a result"
        )
    try:
        document = json.loads(payload)
    except ValueError:
        raise NetnsError(f"child in network namespace {netns} sent a garbled result") from None
    if "error" in document:
        raise NetnsError(str(document["error"]))
    return document["value"]
