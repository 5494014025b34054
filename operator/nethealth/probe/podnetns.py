"""Find a pod's network namespace on its node from the pod UID, by scanning /proc/*/cgroup.

The kubelet puts every container of a pod under a cgroup named after the pod UID, so
any process of the pod leads to the pod's network namespace (``/proc/<pid>/ns/net``),
which all its containers share. Two layouts exist, on cgroup v1 and v2 alike:

- cgroupfs:  ``/kubepods/burstable/pod<uid>/<container-id>``
- systemd:   ``/kubepods.slice/kubepods-burstable.slice/``
             ``kubepods-burstable-pod<uid with _ for ->.slice/cri-containerd-<id>.scope``

either of them possibly nested under a prefix (kubelet in a container, test harnesses),
and with systemd possibly renamed after the kubelet's cgroup root (kind's ``/kubelet``
gives ``kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort-pod<uid>.slice``).
A probe in a cgroup namespace of its own (containerd's default on cgroup v2) sees other
processes' paths relative to its root: ``/../../kubepods-burstable.slice/...``, or with
cgroupfs, when the climb ends below ``kubepods``, ``/../../../burstable/pod<uid>/<id>``.
Such a path starts with ``..``, which no absolute path does, and counts as being below
``kubepods``: the probe itself runs in a pod.
The sandbox ("pause") container holds the namespace too, but an application container's
process is preferred: it is the one whose behaviour is in question, and the report says
which process was used. Needs ``hostPID`` to see the pod's processes at all.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Sequence
from typing import Final

_UID: Final = re.compile(
    r"^[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}$"
)
# A path segment naming the pod: "pod<uid>" (cgroupfs) or
# "[<root>-]kubepods-<qos>-pod<uid_with_underscores>.slice" (systemd).
_POD_SEGMENT: Final = re.compile(
    r"^(?:(?:[a-z0-9]+-)*kubepods(?:-[a-z]+)?-)?"
    r"pod(?P<uid>[0-9a-f]{8}(?:[-_][0-9a-f]{4}){3}[-_][0-9a-f]{12})(?:\.slice)?$"
)
# The segment below it naming the container: "<id>" (cgroupfs) or
# "<runtime>-<id>.scope" (systemd: cri-containerd-, docker-, crio-, crio-conmon-).
_CONTAINER_SEGMENT: Final = re.compile(r"^(?P<runtime>[a-z-]*?)-?(?P<id>[0-9a-f]{64})(?:\.scope)?$")
_SANDBOX_COMMANDS: Final = frozenset({"pause", "pause.exe"})


class PodNotFoundError(LookupError):
    """No process of the pod is visible on this node; the message says what was tried."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodCgroup:
    """What a cgroup path says about the process in it."""

    pod_uid: str  # normalized: lower case, dashes
    container_id: str | None  # None for a process in the pod's own cgroup
    runtime: str  # "cri-containerd", "docker", "crio", "crio-conmon", or "" for cgroupfs


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodProcess:
    """The process chosen to stand for the pod's network namespace."""

    pid: int
    pod_uid: str
    container_id: str | None
    command: str  # argv[0], to tell an application from the sandbox in the report
    sandbox: bool  # the pause container: only used when no other process was found
    started: int = 0  # start time in clock ticks since boot (/proc/PID/stat field 22)

    @property
    def netns(self) -> str:
        return f"/proc/{self.pid}/ns/net"


def normalize_uid(uid: str) -> str:
    """A pod UID as the API shows it; raise ValueError naming the accepted form."""
    text = uid.strip().lower()
    if not _UID.match(text):
        raise ValueError(
            f"--pod-uid {uid!r} is not a pod UID (expected 8-4-4-4-12 hex digits,"
            " as in metadata.uid)"
        )
    return text.replace("_", "-")


def normalize_container_id(container_id: str) -> str:
    """Accept the pod status form (``containerd://<id>``) as well as a bare (short) ID."""
    text = container_id.strip().lower().rpartition("://")[2]
    if not re.fullmatch(r"[0-9a-f]{12,64}", text):
        raise ValueError(
            f"--container-id {container_id!r} is not a container ID"
            " (expected 12-64 hex digits, optionally prefixed with '<runtime>://')"
        )
    return text


def parse_cgroup_path(path: str) -> PodCgroup | None:
    """Read a pod UID and container ID out of one cgroup path, or None if not a pod's."""
    segments = [s for s in path.split("/") if s]
    # Relative to the probe's own cgroup namespace: its root is inside kubepods already.
    seen_kubepods = bool(segments) and segments[0] == ".."
    for index, segment in enumerate(segments):
        if "kubepods" in segment:
            seen_kubepods = True
        match = _POD_SEGMENT.match(segment)
        if not (seen_kubepods and match):
            continue
        uid = match["uid"].replace("_", "-")
        below = segments[index + 1] if index + 1 < len(segments) else None
        container = _CONTAINER_SEGMENT.match(below) if below else None
        if container is None:
            return PodCgroup(pod_uid=uid, container_id=None, runtime="")
        return PodCgroup(pod_uid=uid, container_id=container["id"], runtime=container["runtime"])
    return None


def parse_cgroup_file(text: str) -> PodCgroup | None:
    """Read ``/proc/<pid>/cgroup`` (v1: one line per hierarchy; v2: ``0::<path>``)."""
    found: PodCgroup | None = None
    for line in text.splitlines():
        _, _, path = line.partition(":")
        _, _, path = path.partition(":")
        parsed = parse_cgroup_path(path)
        # v1 hierarchies may disagree (a controller not delegated): prefer the line
        # that names the container.
        if parsed is not None and (found is None or found.container_id is None):
            found = parsed
    return found


def find(*, pod_uid: str, container_ids: Sequence[str] = (), proc: str = "/proc") -> PodProcess:
    """The process of the pod (an application container's, if any) whose netns to enter."""
    uid = normalize_uid(pod_uid)
    wanted = tuple(normalize_container_id(c) for c in container_ids)
    candidates: list[PodProcess] = []
    other_containers: set[str] = set()
    scanned = 0
    for pid in _pids(proc):
        scanned += 1
        cgroup = parse_cgroup_file(_read(f"{proc}/{pid}/cgroup"))
        if cgroup is None or cgroup.pod_uid != uid or cgroup.runtime.endswith("conmon"):
            continue
        command = _command(proc=proc, pid=pid)
        if command is None:  # exited meanwhile
            continue
        if wanted and not _matches(cgroup.container_id, wanted):
            other_containers.add(cgroup.container_id or "(pod cgroup)")
            continue
        candidates.append(
            PodProcess(
                pid=pid,
                pod_uid=uid,
                container_id=cgroup.container_id,
                command=command,
                sandbox=os.path.basename(command) in _SANDBOX_COMMANDS,
                started=_start_time(proc=proc, pid=pid),
            )
        )
    if candidates:
        return choose(candidates)
    if other_containers:
        raise PodNotFoundError(
            f"pod {uid} has processes on this node, but none in container(s)"
            f" {', '.join(wanted)} (found: {', '.join(sorted(other_containers))})"
        )
    raise PodNotFoundError(
        f"no process of pod {uid} in {proc}/*/cgroup ({scanned} processes scanned);"
        " is the pod on this node, and does the probe run with hostPID?"
    )


def choose(candidates: Iterable[PodProcess]) -> PodProcess:
    """Prefer an application process over the sandbox; the longest-running of those.

    By start time, not PID: PIDs wrap (pid_max is often 32768), and a short-lived child
    (a shell loop's ``sleep 1``) that exits mid-run would make the namespace look gone.
    """
    return min(candidates, key=lambda p: (p.sandbox, p.container_id is None, p.started, p.pid))


def _matches(container_id: str | None, wanted: Sequence[str]) -> bool:
    return container_id is not None and any(container_id.startswith(w) for w in wanted)


def _pids(proc: str) -> list[int]:
    try:
        names = os.listdir(proc)
    except OSError as e:
        raise PodNotFoundError(f"cannot list {proc}: {e.strerror}") from None
    return sorted(int(name) for name in names if name.isdigit())


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:  # the process exited, or it is not ours to read
        return ""


def _start_time(*, proc: str, pid: int) -> int:
    """Clock ticks since boot when the process started; huge when unknown (least preferred)."""
    stat = _read(f"{proc}/{pid}/stat")
    # The command (field 2) may contain spaces and parentheses: split after the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # field 22 overall; fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return 2**63


def _command(*, proc: str, pid: int) -> str | None:
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    argv0 = raw.split(b"\0", 1)[0].decode(errors="replace")
    if argv0:
        return argv0
    # Kernel threads and zombies have an empty cmdline; comm still names them.
    comm = _read(f"{proc}/{pid}/comm").strip()
    return f"[{comm}]" if comm else None
