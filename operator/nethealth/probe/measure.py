"""Non-blocking connect() attempts spread over a window, pinned round-robin to the CPUs.

The seed's failures were per CPU (a poisoned per-CPU route cache) and came and went in
blocks of seconds, so one connect tells little: the probe makes N of them per target,
evenly spread over the window, each pinned to the next allowed CPU with
``sched_setaffinity`` (the route lookup happens on the CPU that calls connect()), and
records for each the CPU it really ran on, the errno of connect() itself (a local
verdict: the kernel refused before any packet left) and how it ended (the path's
verdict: refused, timed out, unreachable).

Attempts overlap: a connect that hangs until its timeout does not delay the next one,
so a run takes the window plus at most one timeout, whatever the path does.

Names are resolved before, the way the pod resolves them (`probe.resolving`): every
namespace then connects to the same literal addresses (a fair comparison), and a DNS
failure is reported as such instead of as a failing connect.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import ipaddress
import os
import select
import socket
import time
from collections.abc import Mapping
from typing import Any, Final

from nethealth.probe import netns, types

MAX_INFLIGHT: Final = 256  # well below the usual 1024 descriptors per process
_POLL_MASK: Final = select.POLLOUT | select.POLLERR | select.POLLHUP
_libc = ctypes.CDLL(None, use_errno=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """What one namespace's child does; identical for all roles so they compare."""

    endpoints: tuple[types.Endpoint, ...]
    attempts: int  # per endpoint
    spread: float  # seconds over which an endpoint's attempts are spread
    timeout: float  # per connect
    start_at: float  # time.monotonic() at which all namespaces begin together
    # A run measured in several windows numbers its slots on, and times its attempts
    # from the first window's start, so that the windows read as one measurement.
    first_slot: int = 0
    origin: float | None = None  # time.monotonic() that `Attempt.at` counts from

    @property
    def interval(self) -> float:
        return self.spread / self.attempts

    @property
    def zero(self) -> float:
        return self.start_at if self.origin is None else self.origin


def parse_target(text: str) -> types.Target:
    """``[NAME=]HOST:PORT`` with IPv6 literals in brackets; raise ValueError naming it."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = "", text
    host, port_text = _split_host_port(text=text, rest=rest)
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError(f"--target {text!r}: port must be a number from 1 to 65535")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"--target {text!r}: missing or malformed host")
    display = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return types.Target(name=name or display, host=host, port=port)


def _split_host_port(*, text: str, rest: str) -> tuple[str, str]:
    if rest.startswith("["):
        host, bracket, port = rest[1:].partition("]")
        if not bracket or not port.startswith(":"):
            raise ValueError(f"--target {text!r}: expected [IPv6]:PORT")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"--target {text!r}: {host!r} is not an IPv6 address") from None
        return host, port[1:]
    host, colon, port = rest.rpartition(":")
    if not colon:
        raise ValueError(f"--target {text!r}: expected [NAME=]HOST:PORT")
    if ":" in host:
        raise ValueError(f"--target {text!r}: write IPv6 addresses in brackets, [addr]:PORT")
    return host, port


def family(endpoint: types.Endpoint) -> socket.AddressFamily:
    is_v6 = ipaddress.ip_address(endpoint.address).version == 6
    return socket.AF_INET6 if is_v6 else socket.AF_INET


def run(plan: Plan) -> list[dict[str, Any]]:
    """Make the plan's attempts in the current namespace; the attempts as JSON dicts.

    Meant to run in a disposable child (it changes the process's CPU affinity).
    """
    cpus = sorted(os.sched_getaffinity(0))
    schedule = sorted(
        (
            (plan.start_at + (i + j / len(plan.endpoints)) * plan.interval, i, endpoint)
            for j, endpoint in enumerate(plan.endpoints)
            for i in range(plan.attempts)
        ),
        key=lambda item: item[0],
    )
    inflight = _Inflight(start_at=plan.zero, timeout=plan.timeout)
    for due, index, endpoint in schedule:
        inflight.wait_until(due)
        inflight.make_room()
        inflight.start(endpoint=endpoint, cpu=cpus[index % len(cpus)], slot=plan.first_slot + index)
    inflight.drain()
    return [dataclasses.asdict(a) for a in sorted(inflight.done, key=lambda a: a.at)]


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Started:
    """What an attempt was: where to, when, on which CPU, in which slot."""

    endpoint: types.Endpoint
    started: float
    cpu: int
    slot: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Pending:
    sock: socket.socket
    what: _Started


class _Inflight:
    """Connects in progress, completed as the kernel reports them (poll) or timed out."""

    def __init__(self, *, start_at: float, timeout: float) -> None:
        self.start_at = start_at
        self.timeout = timeout
        self.poller = select.poll()
        self.pending: dict[int, _Pending] = {}
        self.done: list[types.Attempt] = []

    def start(self, *, endpoint: types.Endpoint, cpu: int, slot: int) -> None:
        os.sched_setaffinity(0, {cpu})
        started = time.monotonic()
        try:
            sock = socket.socket(family(endpoint), socket.SOCK_STREAM)
        except OSError as e:  # e.g. no IPv6 in this namespace, or out of descriptors
            code = e.errno or errno.EIO
            what = _Started(endpoint=endpoint, started=started, cpu=_cpu(cpu), slot=slot)
            self._finish(what, immediate=code, final=code)
            return
        sock.setblocking(False)
        code = sock.connect_ex((endpoint.address, endpoint.port))
        what = _Started(endpoint=endpoint, started=started, cpu=_cpu(cpu), slot=slot)
        if code == errno.EINPROGRESS:
            self.pending[sock.fileno()] = _Pending(sock=sock, what=what)
            self.poller.register(sock.fileno(), _POLL_MASK)
            return
        sock.close()
        self._finish(what, immediate=code, final=code)

    def wait_until(self, deadline: float) -> None:
        """Complete what the kernel reports until ``deadline`` (monotonic)."""
        while True:
            now = time.monotonic()
            self._expire(now)
            if now >= deadline:
                return
            self._poll(until=min([deadline, *self._deadlines()]))

    def make_room(self) -> None:
        """Bound the sockets open at once, so that the probe's own descriptor limit never
        shows up as a failing connect (a short spread with many attempts)."""
        while len(self.pending) >= MAX_INFLIGHT:
            self._poll(until=min(self._deadlines()))
            self._expire(time.monotonic())

    def drain(self) -> None:
        """Complete every connect still in progress, each by its own deadline."""
        while self.pending:
            self._poll(until=min(self._deadlines()))
            self._expire(time.monotonic())

    def _deadlines(self) -> list[float]:
        return [p.what.started + self.timeout for p in self.pending.values()]

    def _poll(self, *, until: float) -> None:
        milliseconds = max(0, int((until - time.monotonic()) * 1000) + 1)
        for fd, _ in self.poller.poll(milliseconds):
            pending = self.pending.pop(fd)
            self.poller.unregister(fd)
            code = pending.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            pending.sock.close()
            self._finish(pending.what, immediate=0, final=code)

    def _expire(self, now: float) -> None:
        for fd, pending in list(self.pending.items()):
            if now - pending.what.started >= self.timeout:
                del self.pending[fd]
                self.poller.unregister(fd)
                pending.sock.close()
                self._finish(pending.what, immediate=0, final=errno.ETIMEDOUT)

    def _finish(self, what: _Started, *, immediate: int, final: int) -> None:
        self.done.append(
            types.Attempt(
                target=what.endpoint.name,
                address=what.endpoint.address,
                at=round(what.started - self.start_at, 4),
                cpu=what.cpu,
                immediate_errno=immediate,
                final_errno=final,
                duration=round(time.monotonic() - what.started, 6),
                slot=what.slot,
            )
        )


def _cpu(pinned: int) -> int:
    """The CPU the caller runs on now (it was just pinned, so normally ``pinned``)."""
    current: int = _libc.sched_getcpu()
    return pinned if current < 0 else current


# Enough for the children to start and send their results after the last timeout.
_GRACE: Final = 5.0


def across(*, namespaces: Mapping[types.Role, str], plan: Plan) -> tuple[types.Measurement, ...]:
    """Run the plan in every namespace at once (one forked child each), in role order.

    Concurrency keeps the run within the window plus one timeout, and puts the
    namespaces' attempts side by side in time, so a block of failures in one of them
    and not in the others points at that namespace.
    """
    children: dict[types.Role, netns.Child] = {}
    measurements: list[types.Measurement] = []
    deadline = plan.start_at + plan.spread + plan.timeout + _GRACE
    try:
        for role, path in namespaces.items():
            children[role] = netns.spawn(path, run, plan)
        for role, child in children.items():
            path = namespaces[role]
            try:
                raw = child.wait(max(0.0, deadline - time.monotonic()))
            except netns.NetnsError as e:
                measurements.append(types.Measurement(role=role, netns=path, error=str(e)))
                continue
            attempts = tuple(types.Attempt.from_dict(a) for a in raw)
            measurements.append(types.Measurement(role=role, netns=path, attempts=attempts))
    finally:
        for child in children.values():
            child.close()
    return tuple(measurements)
