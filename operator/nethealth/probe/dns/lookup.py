"""Resolve names from the current network namespace with a given resolver configuration.

Runs in a child inside a namespace (through `netns.spawn`), with the pod's configuration or
the probe's own. It asks what glibc asks, in glibc's order (`resolvconf.candidates`): for
each absolute name an A and an AAAA query, each nameserver in turn, ``attempts`` rounds;
the first name with addresses wins, a name that does not exist (NXDOMAIN, or no data)
moves on to the next one. Unlike glibc it gives up on a nameserver for the rest of the run
once it has not answered a whole query: the verdict ("no answer from X") is the same, and
a dead server costs one timeout, not one per name of the search list.

Waits are capped (`MAX_TIMEOUT` per query, `MAX_ATTEMPTS` rounds): a pod's ``timeout:5
attempts:5`` must not eat the run's time; the report says how long was waited.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import os
import select
import socket
import time
from collections.abc import Sequence
from typing import Any, Final

from nethealth.probe import types
from nethealth.probe.dns import resolvconf, wire

PORT: Final = 53
MAX_TIMEOUT: Final = 2.0
MAX_ATTEMPTS: Final = 2
# Statuses, most telling first when a name fails in several ways.
ORDER: Final = ("ok", "timeout", "refused-locally", "unreachable", "servfail", "refused",
                "nxdomain", "nodata", "error")  # fmt: skip
_LOCAL_ERRNOS: Final = frozenset({errno.ENETUNREACH, errno.EPERM, errno.EACCES, errno.EINVAL})


Resolution = types.Resolution


def resolve_all(
    names: Sequence[str], conf: dict[str, Any], hosts: dict[str, list[str]] | None = None
) -> list[dict[str, Any]]:
    """Each name resolved with the configuration ``conf`` (`ResolvConf` as a dict) after
    the hosts file ``hosts`` (`hostsfile.parse`, as JSON), as an application does: JSON."""
    parsed = resolvconf.ResolvConf(**{**conf, "nameservers": tuple(conf["nameservers"]),
                                      "search": tuple(conf["search"])})  # fmt: skip
    resolver = _Resolver(parsed)
    listed = hosts or {}
    return [
        dataclasses.asdict(_from_hosts(name, listed) or resolver.resolve(name)) for name in names
    ]


def _from_hosts(name: str, hosts: dict[str, list[str]]) -> Resolution | None:
    addresses = hosts.get(name.lower().rstrip("."))
    if not addresses:
        return None
    return Resolution(
        name=name, status="ok", addresses=tuple(addresses), server="/etc/hosts",
        tried=(name.rstrip("."),), detail="listed in /etc/hosts",
    )  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Reply:
    status: str  # "answer", "timeout", "refused-locally", "unreachable", "error"
    answer: wire.Answer | None = None
    server: str = ""
    detail: str = ""


class _Resolver:
    def __init__(self, conf: resolvconf.ResolvConf) -> None:
        self.conf = conf
        self.timeout = min(conf.timeout, MAX_TIMEOUT)
        self.rounds = min(conf.attempts, MAX_ATTEMPTS)
        self.dead: dict[str, str] = {}  # server -> why it is given up on

    def resolve(self, name: str) -> Resolution:
        tried: list[str] = []
        worst = Resolution(name=name, status="error", detail="nothing was asked")
        try:
            candidates = resolvconf.candidates(name, self.conf)
        except ValueError as e:
            return dataclasses.replace(worst, detail=str(e))
        for candidate in candidates:
            tried.append(candidate)
            found = self._both_families(name=name, candidate=candidate)
            found = dataclasses.replace(found, tried=tuple(tried))
            if found.status == "ok":
                return found
            if ORDER.index(found.status) < ORDER.index(worst.status) or worst.status == "error":
                worst = found
            if found.status in ("timeout", "refused-locally", "unreachable"):
                break  # no server left to ask
        return dataclasses.replace(worst, tried=tuple(tried))

    def _both_families(self, *, name: str, candidate: str) -> Resolution:
        replies = [self._ask(candidate, qtype) for qtype in (wire.TYPE_A, wire.TYPE_AAAA)]
        addresses = tuple(a for r in replies if r.answer for a in r.answer.addresses)
        server = next((r.server for r in reversed(replies) if r.server), "")
        if addresses:
            return Resolution(name=name, status="ok", addresses=addresses, server=server)
        answered = [r.answer for r in replies if r.answer is not None]
        if len(answered) == len(replies):
            codes = {a.rcode for a in answered}
            status = _status_of(codes)
            detail = f"{candidate}: {'/'.join(sorted(codes))} from {server}"
            return Resolution(name=name, status=status, server=server, detail=detail)
        failed = next(r for r in replies if r.answer is None)
        return Resolution(name=name, status=failed.status, server=failed.server,
                          detail=f"{candidate}: {failed.detail}")  # fmt: skip

    def _ask(self, candidate: str, qtype: int) -> _Reply:
        live = [s for s in self.conf.nameservers if s not in self.dead]
        if not live:
            why = "; ".join(f"{s}: {w}" for s, w in self.dead.items())
            return _Reply(status=_dead_status(self.dead), detail=why,
                          server=self.conf.nameservers[-1])  # fmt: skip
        last = _Reply(status="timeout")
        answered: dict[str, _Reply] = {}
        for _ in range(self.rounds):
            for server in [s for s in live if s not in self.dead and s not in answered]:
                last = _query(server=server, name=candidate, qtype=qtype, timeout=self.timeout)
                if last.answer is None:
                    if last.status in ("refused-locally", "unreachable"):
                        self.dead[server] = last.detail
                    continue
                if last.answer.rcode not in ("SERVFAIL", "REFUSED"):
                    return last
                answered[server] = last  # it answers, just not helpfully: ask the next
        for server in live:
            if server not in answered:
                self.dead.setdefault(server, last.detail or f"no answer within {self.timeout:g} s")
        return next(iter(answered.values()), last)


def _status_of(codes: set[str]) -> str:
    if "SERVFAIL" in codes:
        return "servfail"
    if "REFUSED" in codes:
        return "refused"
    if "NXDOMAIN" in codes:
        return "nxdomain"
    if codes == {"NOERROR"}:
        return "nodata"
    return "error"


def _dead_status(dead: dict[str, str]) -> str:
    if any("refused the query at once" in why for why in dead.values()):
        return "refused-locally"
    if any("unreachable" in why for why in dead.values()):
        return "unreachable"
    return "timeout"


def _query(*, server: str, name: str, qtype: int, timeout: float) -> _Reply:
    family = socket.AF_INET6 if ipaddress.ip_address(server).version == 6 else socket.AF_INET
    ident = int.from_bytes(os.urandom(2), "big")
    try:
        message = wire.query(ident=ident, name=name, qtype=qtype)
    except ValueError as e:
        return _Reply(status="error", server=server, detail=str(e))
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((server, PORT))  # ICMP errors then come back as socket errors
            sock.send(message)
        except OSError as e:
            return _refused(server=server, error=e)
        return _wait(sock, server=server, ident=ident, qtype=qtype, timeout=timeout)


def _wait(sock: socket.socket, *, server: str, ident: int, qtype: int, timeout: float) -> _Reply:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            break
        try:
            data = sock.recv(65535)
        except OSError as e:
            return _refused(server=server, error=e)
        try:
            found = wire.answer(data, qtype=qtype)
        except wire.MalformedError:
            continue
        if found.ident == ident:
            return _Reply(status="answer", answer=found, server=server)
    return _Reply(status="timeout", server=server,
                  detail=f"no answer from {server} within {timeout:g} s")  # fmt: skip


def _refused(*, server: str, error: OSError) -> _Reply:
    name = errno.errorcode.get(error.errno or 0, str(error.errno))
    if error.errno in _LOCAL_ERRNOS:
        detail = f"the kernel refused the query at once ({name}) to {server}"
        return _Reply(status="refused-locally", server=server, detail=detail)
    if error.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
        return _Reply(status="unreachable", server=server, detail=f"{server} unreachable ({name})")
    return _Reply(status="error", server=server, detail=f"{server}: {name}")
