"""One probe run: locate the namespaces, measure them together, gather evidence, judge.

The order matters. Counters are snapshotted in the target namespace before the
measurement so their deltas belong to it; the three namespaces are measured at the same
time so that their attempts compare; evidence (route lookups per CPU, rules, tables) is
gathered right after, while the fault is most likely still there. Every failure to do
one of these steps ends in an ``Inconclusive`` result that says which step failed and
why — never in a network verdict the probe could not back.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import time
from collections.abc import Sequence
from typing import Any, Final

import nethealth
from nethealth.probe import (
    classes,
    classify,
    counters,
    evidence,
    kernels,
    measure,
    netns,
    nshandle,
    podnetns,
    report,
    request,
    resolving,
    sampling,
    types,
    windows,
)
from nethealth.probe.dns import hostsfile, resolvconf

# The command line, validated (kept here too: callers know them as orchestrate's).
Request = request.Request
UsageError = request.UsageError
request_from = request.request_from
# Children need a moment to fork and enter their namespaces before the common start.
_START_DELAY: Final = 0.3
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
    pod_conf, source = _pod_resolver(request, located)
    document = functools.partial(document, resolver=_resolver_info(pod_conf, source=source))
    pod_root = source.removesuffix(OWN_RESOLV_CONF) if source.endswith(OWN_RESOLV_CONF) else ""
    resolved = resolving.resolve(
        targets=request.targets,
        dns_names=request.dns_names,
        pod_conf=pod_conf,
        own_conf=resolvconf.parse(_read(OWN_RESOLV_CONF) or ""),
        namespaces=_distinct(_namespaces(request, located))[0],
        pod_hosts=hostsfile.parse(_read(f"{pod_root}{OWN_HOSTS}") or ""),
        own_hosts=hostsfile.parse(_read(OWN_HOSTS) or ""),
    )
    measured = _measure(request, located=located, endpoints=resolved.endpoints, before=before)
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


OWN_RESOLV_CONF: Final = "/etc/resolv.conf"
OWN_HOSTS: Final = "/etc/hosts"


def _pod_resolver(request: Request, located: Located) -> tuple[resolvconf.ResolvConf, str]:
    """The pod's resolver configuration and where it was read: its process's own file
    (as the process sees it, through ``/proc/<pid>/root``), ``--resolv-conf``, or, when
    neither can be read (``--netns``), the probe's own, saying so."""
    pid = located.process.pid if located.process else request.pid
    paths = [request.resolv_conf] if request.resolv_conf else []
    if pid is not None:
        paths.append(f"/proc/{pid}/root{OWN_RESOLV_CONF}")
    for path in paths:
        text = _read(path)
        if text is not None:
            return resolvconf.parse(text), path
    own = resolvconf.parse(_read(OWN_RESOLV_CONF) or "")
    return own, f"{OWN_RESOLV_CONF} (the probe's own)"


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(65536)
    except OSError:
        return None


def _resolver_info(conf: resolvconf.ResolvConf, *, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "nameservers": list(conf.nameservers),
        "search": list(conf.search),
        "ndots": conf.ndots,
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measured:
    """Every window's attempts joined per namespace, and the evidence sampled meanwhile."""

    measurements: tuple[types.Measurement, ...]
    samples: list[tuple[float, types.Evidence]]
    window: report.Window | None


def _measure(
    request: Request,
    *,
    located: Located,
    endpoints: tuple[types.Endpoint, ...],
    before: dict[str, int],
) -> Measured:
    """All namespaces at once, window after window while `windows.longer` says so."""
    if not endpoints:  # no target resolves in the pod: nothing to connect to
        nothing = types.Measurement(role=types.Role.TARGET, netns=located.netns)
        return Measured(measurements=(nothing,), samples=[], window=None)
    origin = time.monotonic() + _START_DELAY
    distinct, duplicates = _distinct(_namespaces(request, located))
    joined: dict[types.Role, types.Measurement] = {m.role: m for m in duplicates}
    samples: list[tuple[float, types.Evidence]] = []
    used = 0
    while True:
        plan = measure.Plan(
            endpoints=endpoints,
            attempts=request.attempts,
            spread=request.spread,
            timeout=request.timeout,
            start_at=max(origin + used * request.spread, time.monotonic() + _START_DELAY),
            first_slot=used * request.attempts,
            origin=origin,
        )
        measured, sampled = _window(plan, located=located, distinct=distinct, before=before)
        joined = _join(joined, measured)
        samples += sampled
        used += 1
        if used >= request.windows or not _longer(joined, request=request):
            break
    # Children entered the target through the probe's descriptor; report where it was found.
    if types.Role.TARGET in joined:
        joined[types.Role.TARGET] = dataclasses.replace(
            joined[types.Role.TARGET], netns=located.netns
        )
    ordered = tuple(joined[role] for role in types.Role if role in joined)
    window = report.Window(seconds=used * request.spread, steps=used, max_steps=request.windows)
    return Measured(measurements=ordered, samples=samples, window=window)


def _window(
    plan: measure.Plan,
    *,
    located: Located,
    distinct: dict[types.Role, str],
    before: dict[str, int],
) -> tuple[tuple[types.Measurement, ...], list[tuple[float, types.Evidence]]]:
    """One window in all namespaces at once, with evidence sampled in the target meanwhile."""
    sampler = netns.spawn(
        located.enter,
        sampling.sample,
        plan.endpoints,
        before,
        plan.start_at,
        plan.start_at + plan.spread,
        sampling.interval(plan.spread),
    )
    try:
        measured = measure.across(namespaces=distinct, plan=plan)
        samples = _samples(sampler, offset=plan.start_at - plan.zero)
    finally:
        sampler.close()
    return measured, samples


def _join(
    joined: dict[types.Role, types.Measurement], measured: Sequence[types.Measurement]
) -> dict[types.Role, types.Measurement]:
    """Later windows' attempts appended; a namespace that failed once stays failed."""
    result = dict(joined)
    for m in measured:
        earlier = result.get(m.role)
        if earlier is None:
            result[m.role] = m
            continue
        result[m.role] = dataclasses.replace(
            earlier, attempts=earlier.attempts + m.attempts, error=earlier.error or m.error
        )
    return result


def _longer(joined: dict[types.Role, types.Measurement], *, request: Request) -> bool:
    judged = classes.judge(by_role=joined, min_attempts=classes.MIN_ATTEMPTS)
    return windows.longer(verdicts=judged.targets, failure_rate=request.failure_rate)


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
    return {
        types.Role.TARGET: located.enter,
        types.Role.CONTROL: request.control_netns,
        types.Role.HOST: request.host_netns,
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


def _samples(sampler: netns.Child, *, offset: float) -> list[tuple[float, types.Evidence]]:
    """The sampler's evidence, timed from the run's first window (``offset``: when this
    window began, after it)."""
    try:
        raw = sampler.wait(timeout=_EVIDENCE_TIMEOUT)
    except netns.NetnsError:
        return []  # the final gathering reports what went wrong, if it persists
    return [(float(doc.get("at", 0.0)) + offset, types.Evidence.from_dict(doc)) for doc in raw]


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
