"""One probe run: locate the namespaces, resolve, measure them together, gather evidence,
judge.

The order matters. The target namespace is held open as soon as it is found
(`nshandle`), so that nothing later depends on the process it was found through.
Counters are snapshotted in it before the measurement so their deltas belong to it;
names are resolved the way the pod resolves them (`resolving`), so that every namespace
connects to the pod's addresses; the three namespaces are measured at the same time, in
one window or more (`windowed`), so that their attempts compare; evidence (route lookups
per CPU, rules, tables) is gathered right after, while the fault is most likely still
there. Every failure to do one of these steps ends in an ``Inconclusive`` result that
says which step failed and why — never in a network verdict the probe could not back.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
from collections.abc import Sequence
from typing import Any, Final

import nethealth
from nethealth.probe import (
    classify,
    counters,
    evidence,
    kernels,
    netns,
    nodenetns,
    nshandle,
    podnetns,
    podresolver,
    report,
    request,
    resolving,
    sampling,
    types,
    windowed,
)

# The command line, validated (kept here too: callers know them as orchestrate's).
Request = request.Request
UsageError = request.UsageError
request_from = request.request_from
# Children need a moment to fork and enter their namespaces before the common start.
_EVIDENCE_TIMEOUT: Final = 30.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Located:
    """The target namespace and how it was found (for the report)."""

    netns: str
    how: str  # "pod-uid", "pid" or "netns"
    process: podnetns.PodProcess | None = None
    # Where children enter it: the probe's descriptor for it (`nshandle`), once held.
    entry: str = ""
    process_exited: bool = False  # the process it was found through exited during the run

    @property
    def enter(self) -> str:
        return self.entry or self.netns


class Inconclusive(Exception):
    """A step of the run failed; the message is the result's reason."""


def locate(request: Request) -> Located:
    """The target namespace's path; raise `Inconclusive` saying why it was not found."""
    if request.netns is not None:
        return Located(netns=_existing(request.netns, flag="--netns"), how="netns")
    if request.pid is not None:
        path = f"/proc/{request.pid}/ns/net"
        if not os.path.exists(f"/proc/{request.pid}"):
            raise Inconclusive(
                f"--pid {request.pid}: no such process (does the probe have hostPID?)"
            )
        return Located(netns=path, how="pid")
    assert request.pod_uid is not None
    try:
        process = podnetns.find(pod_uid=request.pod_uid, container_ids=request.container_ids)
    except podnetns.PodNotFoundError as e:
        raise Inconclusive(str(e)) from None
    return Located(netns=process.netns, how="pod-uid", process=process)


def _existing(path: str, *, flag: str) -> str:
    if not os.path.exists(path):
        raise Inconclusive(f"{flag} {path}: no such network namespace")
    return path


def probe(request: Request) -> dict[str, Any]:
    """Run the probe; the full result document (its ``class`` is the classification)."""
    started = now()
    kernel = kernels.assess_running()
    document = functools.partial(_document, request=request, started=started, kernel=kernel)
    located: Located | None = None
    try:
        located = locate(request)
        held = _hold(located)
    except Inconclusive as e:
        return document(located=located, reason=str(e))
    try:
        located = dataclasses.replace(located, entry=held.entry)
        return _run(request, located=located, held=held, document=document, kernel=kernel)
    finally:
        nshandle.release(held)


def _hold(located: Located) -> nshandle.Held:
    try:
        return nshandle.hold(located.netns)
    except netns.NetnsError as e:
        raise Inconclusive(f"cannot enter the target namespace: {e}") from None


def _run(
    request: Request,
    *,
    located: Located,
    held: nshandle.Held,
    document: functools.partial[dict[str, Any]],
    kernel: types.KernelAssessment,
) -> dict[str, Any]:
    """The run once the target namespace is held open: nothing below needs its process."""
    try:
        before = _counters(located.enter)
    except Inconclusive as e:
        return document(located=located, reason=str(e))
    pid = located.process.pid if located.process else request.pid
    pod = podresolver.read(pid=pid, path=request.resolv_conf)
    own = podresolver.own()
    document = functools.partial(document, resolver=pod.info())
    distinct, duplicates = _distinct(_namespaces(request, located))
    resolved = resolving.resolve(
        targets=request.targets,
        dns_names=request.dns_names,
        pod_conf=pod.conf,
        own_conf=own.conf,
        namespaces=distinct,
        pod_hosts=pod.hosts,
        own_hosts=own.hosts,
    )
    measured = windowed.run(
        request,
        target=windowed.Target(enter=located.enter, netns=located.netns),
        endpoints=resolved.endpoints,
        distinct=distinct,
        duplicates=duplicates,
        before=before,
    )
    document = functools.partial(document, window=measured.window)
    located = dataclasses.replace(located, process_exited=not nshandle.path_names_it(held))
    if not nshandle.in_use(held):
        return document(
            located=located, measurements=measured.measurements, reason=_vanished(located)
        )
    final = _final_evidence(located, endpoints=resolved.endpoints, before=before)
    found = sampling.choose(final=final, samples=measured.samples)
    verdict = classify.classify(
        measurements=measured.measurements,
        evidence=found,
        kernel=kernel,
        unmeasured=resolved.unmeasured,
        dns=resolved.dns,
    )
    return document(
        located=located, measurements=measured.measurements, evidence=found, verdict=verdict
    )


def _final_evidence(
    located: Located, *, endpoints: tuple[types.Endpoint, ...], before: dict[str, int]
) -> types.Evidence:
    """Evidence right after the window."""
    try:
        raw = netns.run_in(
            located.enter, evidence.gather, endpoints, before, timeout=_EVIDENCE_TIMEOUT
        )
    except netns.NetnsError as e:
        return types.Evidence(errors=(f"evidence: {e}",))
    return types.Evidence.from_dict(raw)


def _namespaces(request: Request, located: Located) -> dict[types.Role, str]:
    pid = located.process.pid if located.process else request.pid
    return {
        types.Role.TARGET: located.enter,
        types.Role.CONTROL: request.control_netns,
        types.Role.HOST: nodenetns.resolve(request.host_netns, pid=pid),
    }


def _distinct(
    namespaces: dict[types.Role, str],
) -> tuple[dict[types.Role, str], list[types.Measurement]]:
    """Measure each namespace once; a role that is the same namespace as an earlier one
    (the probe started without hostPID, or inside the target pod) is reported as not
    measured, because comparing a namespace with itself would prove nothing."""
    seen: dict[tuple[int, int], types.Role] = {}
    distinct: dict[types.Role, str] = {}
    duplicates: list[types.Measurement] = []
    for role, path in namespaces.items():
        identity = _identity(path)
        if identity is not None and identity in seen:
            error = f"{path} is the same network namespace as the {seen[identity].value}'s"
            duplicates.append(types.Measurement(role=role, netns=path, error=error))
            continue
        if identity is not None:
            seen[identity] = role
        distinct[role] = path
    return distinct, duplicates


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:  # measuring it will say what is wrong
        return None
    return status.st_dev, status.st_ino


def _counters(path: str) -> dict[str, int]:
    """Counters before the window; also the first proof that the namespace can be entered."""
    try:
        before: dict[str, int] = netns.run_in(path, counters.snapshot, timeout=10.0)
    except netns.NetnsError as e:
        raise Inconclusive(f"cannot enter the target namespace: {e}") from None
    return before


def _vanished(located: Located) -> str:
    who = f" (process {located.process.pid} exited)" if located.process else ""
    return (
        f"the target network namespace {located.netns} vanished during the run{who}:"
        " nothing but the probe was left in it (the pod deleted?)"
    )


def inconclusive(reason: str, *, started: datetime.datetime) -> dict[str, Any]:
    """The result of a run that could not start (bad command line) or crashed."""
    return report.build(
        verdict=types.Verdict(klass=types.ProbeClass.INCONCLUSIVE, reason=reason),
        measurements=(),
        evidence=None,
        kernel=None,
        targets=(),
        started=started,
        finished=now(),
        probe_info=_info(),
    )


def _document(
    *,
    request: Request,
    started: datetime.datetime,
    located: Located | None,
    kernel: types.KernelAssessment,
    measurements: Sequence[types.Measurement] = (),
    evidence: types.Evidence | None = None,
    verdict: types.Verdict | None = None,
    reason: str | None = None,
    window: report.Window | None = None,
    resolver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if verdict is None:
        verdict = types.Verdict(klass=types.ProbeClass.INCONCLUSIVE, reason=reason or "")
    return report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=evidence,
        kernel=kernel,
        targets=request.targets,
        started=started,
        finished=now(),
        probe_info=_info(request=request, located=located, resolver=resolver),
        window=window,
    )


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _info(
    *,
    request: Request | None = None,
    located: Located | None = None,
    resolver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Facts about the run for the report's ``probe`` section."""
    info: dict[str, Any] = {"version": nethealth.__version__}
    if node := os.environ.get("NODE_NAME"):
        info["node"] = node
    if request is not None:
        info["options"] = {
            "attempts": request.attempts,
            "spread": request.spread,
            "timeout": request.timeout,
            "windows": request.windows,
            "failureRate": request.failure_rate,
            "controlNetns": request.control_netns,
            "hostNetns": request.host_netns,
        }
    if located is not None:
        info["located"] = _located(located)
    if resolver is not None:
        info["resolver"] = resolver  # the pod's, as its applications resolve
    return info


def _located(located: Located) -> dict[str, Any]:
    found: dict[str, Any] = {"how": located.how, "netns": located.netns}
    if located.process_exited:
        found["exitedDuringRun"] = True  # measured on through the probe's own descriptor
    if located.process is not None:
        process = located.process
        found.update(
            pid=process.pid,
            podUid=process.pod_uid,
            containerId=process.container_id,
            command=process.command,
            sandbox=process.sandbox,
        )
    return found
