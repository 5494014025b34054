"""SNMP counters of the current namespace, named like nstat (``IpOutNoRoutes``).

Taken before and after the window, their deltas say what kind of refusal happened:
``IpOutNoRoutes`` rises when a *routing* decision refuses a connect (a rule, a missing
route), not when a cached broadcast route does. Runs inside the target namespace.
"""

from __future__ import annotations

from collections.abc import Mapping

from nethealth.probe import procfiles


def snapshot() -> dict[str, int]:
    """SNMP counters of the current namespace, named like nstat: ``IpOutNoRoutes``."""
    counters: dict[str, int] = {}
    counters.update(_read_snmp("/proc/self/net/snmp"))
    counters.update(_read_snmp6("/proc/self/net/snmp6"))
    return counters


def _read_snmp(path: str) -> dict[str, int]:
    try:
        lines = procfiles.lines(path)
    except OSError:
        return {}
    found: dict[str, int] = {}
    # Pairs of lines: "Ip: Name Name ..." then "Ip: 1 2 ...".
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        proto, _, names = header.partition(":")
        _, _, numbers = values.partition(":")
        for name, number in zip(names.split(), numbers.split(), strict=False):
            if number.lstrip("-").isdigit():
                found[f"{proto}{name}"] = int(number)
    return found


def _read_snmp6(path: str) -> dict[str, int]:
    try:
        lines = procfiles.lines(path)
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found


def deltas(*, before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Counters that moved, plus the OutNoRoutes ones always (0 is an answer too)."""
    deltas = {k: after[k] - before[k] for k in after if k in before and after[k] != before[k]}
    for key in ("IpOutNoRoutes", "Ip6OutNoRoutes"):
        if key in after and key in before:
            deltas.setdefault(key, 0)
    return dict(sorted(deltas.items()))
