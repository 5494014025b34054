"""The node's network namespace, as the pod's container runtime sees it.

The probe's host column compares the pod with its node. ``/proc/1/ns/net`` is the node's
namespace only when PID 1 runs in it: on nodes that are themselves containers (kind) or
network namespaces (the project's dev cluster) it is the machine's, or cannot even be
read. What holds everywhere is the runtime: a pod's processes are children of its
container runtime's shim (containerd-shim, CRI-O's conmon), which the node's runtime
started in the node's namespace. So the node's namespace is the one of the target
process's parent, when that differs from the pod's own.
"""

from __future__ import annotations

import os
from typing import Final

AUTO: Final = "auto"  # the default of --host-netns: found from the target's runtime
FALLBACK: Final = "/proc/1/ns/net"


def of_process(pid: int, *, proc: str = "/proc") -> str | None:
    """The namespace of ``pid``'s parent when it is another one than ``pid``'s: where the
    runtime that started the pod runs. None when it cannot be told (no parent, the same
    namespace, not readable)."""
    parent = _parent(pid, proc=proc)
    if parent is None or parent <= 1:
        return None
    own, theirs = f"{proc}/{pid}/ns/net", f"{proc}/{parent}/ns/net"
    try:
        if os.stat(own).st_ino == os.stat(theirs).st_ino:
            return None
    except OSError:
        return None
    return theirs


def resolve(requested: str, *, pid: int | None, proc: str = "/proc") -> str:
    """The path to measure as the host: a path given by hand as it is; ``auto``, the
    target's runtime's namespace, else PID 1's."""
    if requested != AUTO:
        return requested
    found = of_process(pid, proc=proc) if pid is not None else None
    return found or FALLBACK


def _parent(pid: int, *, proc: str) -> int | None:
    try:
        with open(f"{proc}/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
