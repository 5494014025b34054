"""Values passed between the probe's layers: measuring, evidence, classifying, reporting.

They are plain frozen dataclasses so that the pure layers (classify, report) can be
tested with hand-built values, and so that a child process can send them to its parent
as JSON (``dataclasses.asdict`` and the ``from_dict`` constructors below).
"""

from __future__ import annotations

import dataclasses
import enum
import errno
from typing import Any


class Role(enum.StrEnum):
    """Which network namespace a measurement was taken in."""

    TARGET = "target"  # the pod under suspicion
    CONTROL = "control"  # a fresh pod on the same node with the same CNI (the probe's own)
    HOST = "host"  # the node's namespace


class ProbeClass(enum.StrEnum):
    """Where the fault lies, judged by which namespaces fail."""

    HEALTHY = "Healthy"
    POD_NAMESPACE = "PodNamespace"  # only the target fails: the seed incident
    NODE_NETWORK = "NodeNetwork"  # target and control fail, host works
    UPSTREAM = "Upstream"  # every namespace fails: the destination or the path beyond the node
    INCONCLUSIVE = "Inconclusive"  # could not measure well enough to say


# A connect() that fails with one of these never left the host: the kernel refused it
# (routing, policy, broadcast route, firewall in the namespace). The others come from
# the path or the peer.
LOCAL_ERRNOS: frozenset[int] = frozenset(
    {errno.ENETUNREACH, errno.EACCES, errno.EPERM, errno.EINVAL}
)
PATH_ERRNOS: frozenset[int] = frozenset({errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EHOSTUNREACH})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """A TCP destination to probe; ``host`` is an IPv4/IPv6 literal or a DNS name."""

    name: str
    host: str
    port: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Attempt:
    """One non-blocking connect() the way an application makes it."""

    target: str  # Target.name
    address: str  # the IP literal actually connected to
    at: float  # seconds since the measurement in this namespace began
    cpu: int  # the CPU the connect() call ran on
    immediate_errno: int  # errno of connect() itself; 0 for success or EINPROGRESS
    final_errno: int  # 0 when connected; else how the attempt ended (SO_ERROR, ETIMEDOUT)
    duration: float  # seconds from connect() to the final verdict

    @property
    def ok(self) -> bool:
        return self.final_errno == 0

    @property
    def local(self) -> bool:
        """The kernel refused it at once, before any packet left: a local verdict."""
        return self.immediate_errno != 0 and self.final_errno in LOCAL_ERRNOS

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        return cls(**data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measurement:
    """All attempts made in one namespace, or why none could be made."""

    role: Role
    netns: str  # how the namespace was named: a path, or "pid:N"
    attempts: tuple[Attempt, ...] = ()
    error: str | None = None  # set when the namespace could not be entered or measured

    @property
    def failures(self) -> int:
        return sum(1 for a in self.attempts if not a.ok)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        return cls(
            role=Role(data["role"]),
            netns=data["netns"],
            attempts=tuple(Attempt.from_dict(a) for a in data.get("attempts", ())),
            error=data.get("error"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hint:
    """One explanation of a failure, ranked by the classifier; ``code`` is stable."""

    code: str  # e.g. "KernelBroadcastRouteCache", "PolicyRuleUnreachable"
    evidence: str  # what was seen, short and concrete
    advice: str  # what a person should do about it


@dataclasses.dataclass(frozen=True, kw_only=True)
class Verdict:
    """The classifier's answer."""

    klass: ProbeClass
    reason: str
    hints: tuple[Hint, ...] = ()
