"""Hand-built probe values for the pure tests: attempts from a picture, evidence, kernels."""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence

from nethealth.probe import classify, types

SERVER = "203.0.113.10"
GATEWAY = "169.254.1.1"
BROADCAST_FLAGS = types.RTCF_LOCAL | types.RTCF_BROADCAST | types.RTM_F_CLONED  # 0x90000200


def attempts(
    picture: str,
    *,
    target: str = "srv",
    address: str = SERVER,
    code: int = errno.ENETUNREACH,
    cpu: Callable[[int], int] = lambda i: i % 2,
    spacing: float = 0.5,
) -> tuple[types.Attempt, ...]:
    """One attempt per character: '.' connected, 'x' failed with ``code``.

    Attempts are ``spacing`` seconds apart and alternate over two CPUs unless ``cpu``
    says otherwise, like the probe's round-robin pinning.
    """
    made = []
    for i, mark in enumerate(picture):
        failed = mark == "x"
        local = failed and code in types.LOCAL_ERRNOS
        made.append(
            types.Attempt(
                target=target,
                address=address,
                at=i * spacing,
                cpu=cpu(i),
                immediate_errno=code if local else 0,
                final_errno=code if failed else 0,
                duration=0.0 if local else 0.001,
                slot=i,
            )
        )
    return tuple(made)


def measured(role: types.Role, *series: Sequence[types.Attempt]) -> types.Measurement:
    joined = tuple(a for s in series for a in s)
    return types.Measurement(role=role, netns=f"/run/netns/{role.value}", attempts=joined)


def unmeasured(role: types.Role, error: str) -> types.Measurement:
    return types.Measurement(role=role, netns=f"/run/netns/{role.value}", error=error)


def three(
    target: Sequence[types.Attempt],
    control: Sequence[types.Attempt],
    host: Sequence[types.Attempt],
) -> list[types.Measurement]:
    return [
        measured(types.Role.TARGET, target),
        measured(types.Role.CONTROL, control),
        measured(types.Role.HOST, host),
    ]


def ok(count: int = 60, **kwargs: object) -> tuple[types.Attempt, ...]:
    return attempts("." * count, **kwargs)  # type: ignore[arg-type]


def lookup(
    kind: str,
    *,
    cpu: int | None = 0,
    type: str = "unicast",
    flags: int = types.RTM_F_CLONED,
    gateway: str | None = GATEWAY,
    code: int = 0,
    address: str = SERVER,
) -> types.RouteLookup:
    return types.RouteLookup(
        target="srv",
        address=address,
        kind=kind,
        cpu=cpu,
        type="" if code else type,
        flags=0 if code or kind == "fib_match" else flags,
        gateway=None if code else gateway,
        dev=None if code else "eth0",
        errno=code,
    )


def healthy_lookups(cpus: Sequence[int] = (0, 1)) -> tuple[types.RouteLookup, ...]:
    return tuple(lookup(kind, cpu=cpu) for cpu in cpus for kind in ("plain", "flow", "fib_match"))


def poisoned_on(*poisoned: int, cpus: Sequence[int] = (0, 1)) -> tuple[types.RouteLookup, ...]:
    """Lookups as the regression VM (tests/kernel) answered them on each CPU.

    On a poisoned CPU the plain and flow-key lookups return the cached broadcast route via
    the gateway (flags 0x90000200, `cache <local,brd>`), and the FIB-match lookup says
    broadcast too: the kernel takes its type from the cached route. Other CPUs: unicast.
    """
    return tuple(
        lookup(
            kind,
            cpu=cpu,
            type="broadcast" if cpu in poisoned else "unicast",
            flags=BROADCAST_FLAGS if cpu in poisoned else types.RTM_F_CLONED,
        )
        for cpu in cpus
        for kind in ("plain", "flow", "fib_match")
    )


# The regression VM's kernel: Debian's 6.1.192 source with the fix taken out, built by
# hand, so its /proc/version names no kernel package, only gcc's ("Debian 12.2.0-14").
VM_RELEASE = "6.1.192-nethealth-regression"
VM_PROC_VERSION = (
    "Linux version 6.1.192-nethealth-regression (root@vm) (gcc (Debian 12.2.0-14+deb12u1)"
    " 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP Thu Nov 26 04:45:09 UTC 2026"
)

DEFAULT_ROUTE = types.RouteEntry(
    family=2, table=254, type="unicast", dst="default", gateway=GATEWAY, dev="eth0"
)
POD_ADDRESS = types.InterfaceAddress(family=2, address="198.51.100.10", prefixlen=32, dev="eth0")


def evidence(**fields: object) -> types.Evidence:
    """A healthy pod's evidence with ``fields`` replaced."""
    base: dict[str, object] = {
        "kernel_release": "6.18.44",
        "cpus": (0, 1),
        "lookups": healthy_lookups(),
        "routes": (DEFAULT_ROUTE,),
        "addresses": (POD_ADDRESS,),
        "counters": {"IpOutNoRoutes": 0, "Ip6OutNoRoutes": 0},
    }
    base.update(fields)
    return types.Evidence(**base)  # type: ignore[arg-type]


def kernel(status: types.KernelStatus, *, fixed_in: str | None = None) -> types.KernelAssessment:
    return types.KernelAssessment(
        release="6.12.43-talos",
        version="6.12.43",
        status=status,
        issue="ipv4-broadcast-route-cache",
        fixed_in=fixed_in,
    )


AFFECTED = kernel(types.KernelStatus.AFFECTED, fixed_in="6.12.45")
FIXED = kernel(types.KernelStatus.FIXED, fixed_in="6.12.45")


# --- verdicts: classify with defaults, read the hints -------------------------------------

HALF = "x." * 30  # the seed: every other connect fails (alternating CPUs)
ALL = "x" * 60


def run(
    measurements: Sequence[types.Measurement],
    *,
    ev: types.Evidence | None = None,
    kernel: types.KernelAssessment | None = None,
    **kwargs: int,
) -> types.Verdict:
    return classify.classify(measurements=measurements, evidence=ev, kernel=kernel, **kwargs)


def codes(verdict: types.Verdict) -> list[str]:
    return [h.code for h in verdict.hints]


def hint(verdict: types.Verdict, code: str) -> types.Hint:
    return next(h for h in verdict.hints if h.code == code)
