"""The probe's command line, validated: what to measure, where, and how long.

Every value is checked before anything is measured, and a bad one is a `UsageError` that
names its flag (the CLI exits 64 with an Inconclusive document saying so).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Final, TypeVar

from nethealth.probe import measure, podnetns, types

N = TypeVar("N", int, float)

MAX_ATTEMPTS: Final = 10_000
MAX_TARGETS: Final = 32
MAX_WINDOWS: Final = 10
MAX_DNS_NAMES: Final = 8


class UsageError(ValueError):
    """The command line is wrong; the message names the flag and what is allowed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    pod_uid: str | None
    container_ids: tuple[str, ...]
    pid: int | None
    netns: str | None
    control_netns: str
    host_netns: str
    targets: tuple[types.Target, ...]
    attempts: int
    spread: float
    timeout: float
    windows: int = 1  # at most this many windows of ``spread`` (`probe.windows`)
    failure_rate: float = 0.2  # the operator's threshold, to judge a window by its rule
    dns_names: tuple[str, ...] = ()  # also resolved with the pod's resolver (spec.dns)
    resolv_conf: str | None = None  # the pod's resolver configuration, when not its own


def request_from(
    *,
    pod_uid: str | None,
    container_ids: Sequence[str],
    pid: str | None,
    netns: str | None,
    control_netns: str,
    host_netns: str,
    targets: Sequence[str],
    attempts: str,
    spread: str,
    timeout: str,
    windows: str = "1",
    failure_rate: str = "0.2",
    dns_names: Sequence[str] = (),
    resolv_conf: str | None = None,
) -> Request:
    """Validate the command line's values; raise `UsageError` naming the flag."""
    given = [
        flag
        for flag, value in (("--pod-uid", pod_uid), ("--pid", pid), ("--netns", netns))
        if value is not None
    ]
    if len(given) != 1:
        raise UsageError(
            "give exactly one of --pod-uid, --pid, --netns"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if container_ids and pod_uid is None:
        raise UsageError("--container-id needs --pod-uid")
    if not targets:
        raise UsageError("give at least one --target [NAME=]HOST:PORT")
    if len(targets) > MAX_TARGETS:
        raise UsageError(f"--target: at most {MAX_TARGETS} targets (got {len(targets)})")
    try:
        uid = podnetns.normalize_uid(pod_uid) if pod_uid is not None else None
        cids = tuple(podnetns.normalize_container_id(c) for c in container_ids)
        parsed = tuple(measure.parse_target(t) for t in targets)
    except ValueError as e:
        raise UsageError(str(e)) from None
    names = [t.name for t in parsed]
    if len(set(names)) != len(names):
        raise UsageError(f"--target: names must be unique (got {', '.join(names)})")
    if len(dns_names) > MAX_DNS_NAMES:
        raise UsageError(f"--dns-name: at most {MAX_DNS_NAMES} names (got {len(dns_names)})")
    for name in dns_names:
        _dns_name(name)
    return Request(
        pod_uid=uid,
        container_ids=cids,
        pid=_number("--pid", pid, kind=int, low=1, high=2**22) if pid is not None else None,
        netns=netns,
        control_netns=control_netns,
        host_netns=host_netns,
        targets=parsed,
        attempts=_number("--attempts", attempts, kind=int, low=1, high=MAX_ATTEMPTS),
        spread=_number("--spread", spread, kind=float, low=0.0, high=3600.0),
        timeout=_number("--timeout", timeout, kind=float, low=0.001, high=60.0),
        windows=_number("--windows", windows, kind=int, low=1, high=MAX_WINDOWS),
        failure_rate=_rate("--failure-rate", failure_rate),
        dns_names=tuple(dns_names),
        resolv_conf=resolv_conf,
    )


def _dns_name(name: str) -> None:
    labels = name.rstrip(".").split(".")
    if not name or len(name) > 254 or not all(0 < len(label) <= 63 for label in labels):
        raise UsageError(f"--dns-name {name!r}: expected a DNS name such as kubernetes.default")


def _rate(flag: str, text: str) -> float:
    value = _number(flag, text, kind=float, low=0.0, high=1.0)
    if value in (0.0, 1.0):
        raise UsageError(f"{flag} {text!r}: expected a share between 0 and 1 (exclusive)")
    return value


def _number(flag: str, text: str, *, kind: type[N], low: N, high: N) -> N:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or math.isnan(value) or not low <= value <= high:
        what = "a whole number" if kind is int else "a number of seconds"
        raise UsageError(f"{flag} {text!r}: expected {what} from {low} to {high}")
    return value
