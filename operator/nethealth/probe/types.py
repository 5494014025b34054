"""Values passed between the probe's layers: measuring, evidence, classifying, reporting.

They are plain frozen dataclasses so that the pure layers (classify, report) can be
tested with hand-built values, and so that a child process can send them to its parent
as JSON (``dataclasses.asdict`` and the ``from_dict`` constructors below).
"""

from __future__ import annotations

import dataclasses
import enum
import errno
from typing import Any, Self


class Role(enum.StrEnum):
    """Which network namespace a measurement was taken in."""

    TARGET = "target"  # the pod under suspicion
    CONTROL = "control"  # a fresh pod on the same node with the same CNI (the probe's own)
    HOST = "host"  # the node's namespace


class ProbeClass(enum.StrEnum):
    """Where the fault lies, judged by which namespaces fail."""

    HEALTHY = "Healthy"
    POD_NAMESPACE = "PodNamespace"  # only the target fails, refused in its own namespace
    # Only the target fails, but beyond its namespace (timeouts, refusals from the path or
    # the peer): something filters this pod's traffic, e.g. a NetworkPolicy selecting it.
    # Never remediated: the node's network would only get around the policy.
    FILTERED = "Filtered"
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


class _FlatRecord:
    """A value whose JSON form is its fields as they are (no nested values to rebuild)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """A TCP destination to probe; ``host`` is an IPv4/IPv6 literal or a DNS name."""

    name: str
    host: str
    port: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Attempt(_FlatRecord):
    """One non-blocking connect() the way an application makes it."""

    target: str  # Target.name
    address: str  # the IP literal actually connected to
    at: float  # seconds since the measurement in this namespace began
    cpu: int  # the CPU the connect() call ran on
    immediate_errno: int  # errno of connect() itself; 0 for success or EINPROGRESS
    final_errno: int  # 0 when connected; else how the attempt ended (SO_ERROR, ETIMEDOUT)
    duration: float  # seconds from connect() to the final verdict
    # Its place in the schedule of its target, the same in every namespace (the i-th
    # connect to a target is due at the same moment everywhere): what pairs a target
    # attempt with the control's made at the same time. -1: not scheduled (hand-made).
    slot: int = -1

    @property
    def ok(self) -> bool:
        return self.final_errno == 0

    @property
    def local(self) -> bool:
        """The kernel refused it at once, before any packet left: a local verdict."""
        return self.immediate_errno != 0 and self.final_errno in LOCAL_ERRNOS


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
class TargetVerdict:
    """Where one target's fault lies, and the counts a verdict on the pod rests on.

    The counts depend on the class (`probe.classes` says why): for the pod's own classes
    (and Healthy) the target pod's connects without the slots in which the fresh pod
    failed as well, so that failures both share are not blamed on the pod; otherwise
    all of the target pod's connects to it.
    """

    target: str  # Target.name
    klass: ProbeClass
    reason: str
    attempts: int
    failures: int
    blocks: int  # runs of consecutive failures among the counted attempts
    # The target pod's own failures are clearly above background loss, and the fresh pod
    # and the node do not fail on it: what may deserve a longer window.
    suspect: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resolution:
    """What resolving one name from one namespace came to (`probe.dns.lookup`)."""

    name: str  # as asked
    status: str  # "ok", "timeout", "refused-locally", "unreachable", "servfail", "refused",
    # "nxdomain", "nodata" or "error"
    addresses: tuple[str, ...] = ()  # IPv4 first, then IPv6
    server: str = ""  # the nameserver that answered last (or was last asked)
    tried: tuple[str, ...] = ()  # the absolute names asked, in order
    detail: str = ""  # what failed, in words

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resolution:
        return cls(**{**data, "addresses": tuple(data["addresses"]), "tried": tuple(data["tried"])})


@dataclasses.dataclass(frozen=True, kw_only=True)
class DnsVerdict:
    """Where resolving one name fails: the pod's resolver configuration from the pod, a
    fresh pod and the node, and the probe's own resolver (`probe.dns.verdicts`)."""

    name: str
    target: str | None  # the target whose host it is; None for a name of spec.dns
    klass: ProbeClass
    reason: str
    by_role: dict[Role, Resolution]  # with the pod's resolv.conf
    own: Resolution | None  # the probe's own resolver, from its own namespace
    servers: tuple[str, ...] = ()  # the pod's nameservers
    # Nobody resolves it, not even the probe's own resolver: the check names a name that
    # does not exist from where the probe stands (not a fault of the pod).
    unresolvable: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class Verdict:
    """The classifier's answer."""

    klass: ProbeClass
    reason: str
    hints: tuple[Hint, ...] = ()
    targets: tuple[TargetVerdict, ...] = ()  # one per measured target, in target order
    dns: tuple[DnsVerdict, ...] = ()  # one per name resolved with the pod's resolver


# --- Evidence and kernel assessment (appended by the evidence/classify/report layers) ---

# Route cache flags of an IPv4 route lookup (rtm_flags): a unicast destination whose
# looked-up route carries LOCAL|BROADCAST is the kernel's broadcast-route-cache regression
# (or a broadcast entry in the local table); `ip route get` shows them as `cache <local,brd>`.
RTCF_LOCAL: int = 0x80000000
RTCF_BROADCAST: int = 0x10000000
RTM_F_CLONED: int = 0x200


@dataclasses.dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A target with the IP literal it resolved to: what evidence is gathered for."""

    name: str  # Target.name
    address: str
    port: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class RouteLookup(_FlatRecord):
    """One RTM_GETROUTE answer for an endpoint, as the kernel gave it on one CPU."""

    target: str  # Endpoint.name
    address: str
    kind: str  # "plain", "flow" (TCP flow key: ipproto tcp + dport) or "fib_match"
    cpu: int | None  # None when the lookup was not pinned
    type: str  # "unicast", "broadcast", "local", "unreachable", ... or "" when it failed
    flags: int = 0  # rtm_flags: RTCF_* cache flags for IPv4 (not for fib_match)
    gateway: str | None = None
    dev: str | None = None
    errno: int = 0  # the lookup's error (ENETUNREACH for an unreachable rule/route)

    @property
    def broadcast_flagged(self) -> bool:
        return self.type == "broadcast" or bool(self.flags & RTCF_BROADCAST)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PolicyRule:
    """A non-default policy routing rule (`ip rule`)."""

    family: int
    priority: int
    action: str  # "lookup", "unreachable", "prohibit", "blackhole", "goto", "nop"
    table: int = 0
    selectors: tuple[str, ...] = ()  # e.g. ("ipproto 6", "dport 80"); empty matches all

    @property
    def text(self) -> str:
        """The rule the way `ip rule` prints it, so a person can find and delete it."""
        parts = [f"pref {self.priority}", *self.selectors]
        parts.append(f"lookup {self.table}" if self.action == "lookup" else self.action)
        return " ".join(parts)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyRule:
        return cls(**{**data, "selectors": tuple(data.get("selectors", ()))})


@dataclasses.dataclass(frozen=True, kw_only=True)
class RouteEntry(_FlatRecord):
    """A route table entry worth reporting (defaults, and entries that refuse traffic)."""

    family: int
    table: int  # 254 main, 255 local
    type: str
    dst: str  # CIDR; "default" for /0
    gateway: str | None = None
    dev: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class InterfaceAddress(_FlatRecord):
    family: int
    address: str
    prefixlen: int
    dev: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Neighbour(_FlatRecord):
    address: str
    dev: str | None
    state: str  # "REACHABLE", "STALE", "FAILED", "INCOMPLETE", ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class Membership(_FlatRecord):
    """A multicast group joined in the namespace (IGMP / MLD)."""

    family: int
    dev: str
    group: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class UdpSocket:
    """A UDP socket that may send broadcasts: bound to a discovery port or the wildcard."""

    family: int
    address: str
    port: int
    inode: int
    owners: tuple[str, ...] = ()  # "pid/comm" of processes holding it, when visible

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UdpSocket:
        return cls(**{**data, "owners": tuple(data.get("owners", ()))})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Evidence:
    """What the target namespace looked like right after the measurement."""

    kernel_release: str = ""
    kernel_version: str = ""  # /proc/version, for distribution package versions
    cpus: tuple[int, ...] = ()
    lookups: tuple[RouteLookup, ...] = ()
    rules: tuple[PolicyRule, ...] = ()
    routes: tuple[RouteEntry, ...] = ()
    addresses: tuple[InterfaceAddress, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()
    counters: dict[str, int] = dataclasses.field(default_factory=dict)  # deltas, nstat names
    memberships: tuple[Membership, ...] = ()
    udp_sockets: tuple[UdpSocket, ...] = ()
    notes: tuple[str, ...] = ()  # limits of what could be seen
    errors: tuple[str, ...] = ()  # parts that could not be gathered, and why

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(
            kernel_release=data.get("kernel_release", ""),
            kernel_version=data.get("kernel_version", ""),
            cpus=tuple(data.get("cpus", ())),
            lookups=tuple(RouteLookup.from_dict(x) for x in data.get("lookups", ())),
            rules=tuple(PolicyRule.from_dict(x) for x in data.get("rules", ())),
            routes=tuple(RouteEntry.from_dict(x) for x in data.get("routes", ())),
            addresses=tuple(InterfaceAddress.from_dict(x) for x in data.get("addresses", ())),
            neighbours=tuple(Neighbour.from_dict(x) for x in data.get("neighbours", ())),
            counters=dict(data.get("counters", {})),
            memberships=tuple(Membership.from_dict(x) for x in data.get("memberships", ())),
            udp_sockets=tuple(UdpSocket.from_dict(x) for x in data.get("udp_sockets", ())),
            notes=tuple(data.get("notes", ())),
            errors=tuple(data.get("errors", ())),
        )


class KernelStatus(enum.StrEnum):
    """Whether a kernel carries a known regression."""

    AFFECTED = "Affected"
    FIXED = "Fixed"  # a release of an affected series that has the fix
    NOT_AFFECTED = "NotAffected"  # never had the faulty change
    UNKNOWN = "Unknown"  # the release does not say (vendor kernel, unparsable)


@dataclasses.dataclass(frozen=True, kw_only=True)
class KernelAssessment:
    """A kernel release checked against the known-bad table."""

    release: str  # as given (uname -r)
    version: str | None  # the upstream version the verdict is based on, e.g. "6.1.149"
    status: KernelStatus
    issue: str  # stable id of the regression, e.g. "ipv4-broadcast-route-cache"
    fixed_in: str | None = None  # the first fixed release of the same series
    detail: str = ""  # how the version was read, or why it is unknown
    source: str = ""  # where the table row comes from
