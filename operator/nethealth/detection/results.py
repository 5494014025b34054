"""Pure: a finished probe Job (and its pod) as one ``decision.RunResult`` per measured pod.

Each container of the Job's pod measured one pod and left the probe's compact JSON in its
termination message (schema in ``probe/report.py``). The document is validated before it
is believed: the schema, the class, and the target namespace's counts.

Anything that is not a valid measurement is **Inconclusive with a reason**, never a
network failure: a Job whose pod was never created (Pod Security Admission, quota), an
image that cannot be pulled, a container that never started, a pod evicted (by the
kubelet under pressure, or through the Eviction API by a drain) or killed at the
deadline, a probe that crashed or printed garbage. The decision module keeps the
pod's state on such a run; the reason goes to status, Events and metrics.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from nethealth.detection import decision, jobs, scheduling
from nethealth.model import raw
from nethealth.probe import report, shorten, types

RawJob = Mapping[str, Any]
RawPod = Mapping[str, Any]
JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"  # set on a Job's pods by its controller

HINT_CHARS: Final = 240
# Container endings the kubelet writes itself, message included.
KUBELET_ENDINGS: Final = frozenset({"ContainerStatusUnknown", "Evicted", "OOMKilled"})


class Why(enum.StrEnum):
    """Why a run was inconclusive: a short, bounded set (metrics label, Event reason)."""

    PROBE = "ProbeInconclusive"  # the probe ran and said it could not measure
    NOT_CREATED = "PodNotCreated"  # no probe pod: admission (PSA), quota, ...
    NOT_STARTED = "ContainerNotStarted"  # image pull, config errors
    NOT_FINISHED = "NotFinished"  # killed at the deadline, evicted, still running
    BAD_RESULT = "BadResult"  # no, or invalid, termination message
    UNRESOLVABLE = "TargetUnresolvable"  # the probe could not resolve a target's name


# An older probe's words for a name it could not resolve in its own namespace; the whole
# run was then Inconclusive. Today's probe says so per name (its ``dns`` entries).
_UNRESOLVED = re.compile(r"target (?P<name>\S+): cannot resolve (?P<host>\S+): (?P<error>.*)", re.S)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unresolved:
    """A target the probe could not resolve, as its run's reason says."""

    name: str  # the target's name in the spec
    host: str
    error: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one run says about one pod."""

    key: str  # namespace/name of the measured pod
    run: decision.RunResult
    hint: str | None = None  # the probe's top hint, "Code: evidence"
    why: Why | None = None  # set when the run is inconclusive
    # Targets whose names nothing resolves, not even the probe's own resolver: the
    # check's spec to fix (the pod's run goes on with its other targets).
    unresolvable: tuple[Unresolved, ...] = ()

    @property
    def inconclusive(self) -> bool:
        return self.run.klass is types.ProbeClass.INCONCLUSIVE


def inconclusive(*, key: str, why: Why, reason: str) -> Outcome:
    run = decision.RunResult(
        klass=types.ProbeClass.INCONCLUSIVE, attempts=0, failures=0, reason=reason
    )
    return Outcome(key=key, run=run, why=why)


def unresolved(outcome: Outcome) -> Unresolved | None:
    """The target a run could not resolve, or None when the run did not fail that way."""
    if outcome.unresolvable:
        return outcome.unresolvable[0]
    if outcome.why is not Why.UNRESOLVABLE:
        return None
    found = _UNRESOLVED.match(outcome.run.reason or "")
    if found is None:
        return None
    return Unresolved(name=found["name"], host=found["host"], error=found["error"].strip())


def finished(*, job: RawJob, pods: Sequence[RawPod]) -> bool:
    """The Job has its final answer: it completed or failed, or its pod has ended."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return any((p.get("status") or {}).get("phase") in ("Succeeded", "Failed") for p in pods)


def collect(
    *, job: RawJob, pods: Sequence[RawPod], refused: str | None = None
) -> dict[str, Outcome]:
    """Each pod the Job measured, with its outcome (keys: namespace/name).

    ``refused`` is the message of the Job's latest ``FailedCreate`` Event, if any: why the
    API server refused its pod (Pod Security Admission names the offending fields).
    """
    measured = jobs.measured_pods(job)
    pod = _latest(pods)
    if pod is None:
        if refused is None and _failed_for(job) == "DeadlineExceeded":
            # The Job controller deletes the pods of a Job past its deadline: it ran (a
            # refused pod, by contrast, leaves a FailedCreate Event, which says more).
            reason = "the probe did not finish within spec.probe.deadline" + _job_failure(job)
            return {
                m.key: inconclusive(key=m.key, why=Why.NOT_FINISHED, reason=reason)
                for m in measured
            }
        if refused is None and _pods_failed(job):
            # The Job counted a pod of its own as failed, yet none is left: the pod was
            # evicted through the Eviction API (a node drain) or deleted. The Job controller
            # lets such a pod go as soon as it stops, often before a poll can see it.
            reason = "the probe pod was evicted or deleted before it finished" + _job_failure(job)
            return {
                m.key: inconclusive(key=m.key, why=Why.NOT_FINISHED, reason=reason)
                for m in measured
            }
        reason = "no probe pod was created" + (
            f": {shorten.chars(refused, limit=600)}" if refused else _job_failure(job)
        )
        return {
            m.key: inconclusive(key=m.key, why=Why.NOT_CREATED, reason=reason) for m in measured
        }
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    pod_reason = _pod_reason(pod)
    if _failed_for(job) == "DeadlineExceeded":
        # The Job's deadline stopped its pod (SIGTERM: a probe may even exit 0): what
        # ended without a result ended because of the deadline.
        pod_reason += "; the Job hit spec.probe.deadline"
    return {
        m.key: _container_outcome(
            key=m.key, status=statuses.get(m.container), pod_reason=pod_reason
        )
        for m in measured
    }


def _latest(pods: Sequence[RawPod]) -> RawPod | None:
    if not pods:
        return None
    return max(pods, key=lambda p: raw.meta(p).get("creationTimestamp", ""))


def _failed_for(job: RawJob) -> str | None:
    """Why the Job failed; ``FailureTarget`` counts: the Job controller sets it at once and
    ``Failed`` only after the pods are gone, so a pod that just ended may see only it."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        failed = condition.get("type") in ("Failed", "FailureTarget")
        if failed and condition.get("status") == "True":
            return str(condition.get("reason") or "")
    return None


def _pods_failed(job: RawJob) -> bool:
    failed = (job.get("status") or {}).get("failed")
    return isinstance(failed, int) and failed > 0


def _job_failure(job: RawJob) -> str:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return f": Job failed ({condition.get('reason')}: {condition.get('message', '')})"
    return " (Pod Security Admission or a quota may refuse it; see the Job's Events)"


def _pod_reason(pod: RawPod) -> str:
    """Why the pod ended, if the kubelet (``Evicted``, ``DeadlineExceeded``) or a
    disruption (``DisruptionTarget``: Eviction API, preemption, taint manager) says."""
    status = pod.get("status") or {}
    reason, message = status.get("reason"), status.get("message")
    said = f"; pod {reason}" + (f": {message}" if message else "") if reason else ""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            said += f"; pod disrupted ({condition.get('reason')}: {condition.get('message', '')})"
    return said


def _container_outcome(*, key: str, status: Mapping[str, Any] | None, pod_reason: str) -> Outcome:
    if status is None:
        return inconclusive(
            key=key, why=Why.NOT_STARTED, reason="the probe container has no status" + pod_reason
        )
    state = status.get("state") or {}
    if "waiting" in state:
        waiting = state["waiting"] or {}
        reason = f"the probe container never started: {waiting.get('reason', 'Waiting')}"
        if waiting.get("message"):
            reason += f": {waiting['message']}"
        return inconclusive(key=key, why=Why.NOT_STARTED, reason=reason + pod_reason)
    if "running" in state:
        return inconclusive(
            key=key, why=Why.NOT_FINISHED, reason="the probe was still running" + pod_reason
        )
    terminated = state.get("terminated") or {}
    message = terminated.get("message") or ""
    if terminated.get("reason") in KUBELET_ENDINGS:
        # The kubelet lost or killed the container (an eviction): what stands where the
        # termination message goes is the kubelet's own words, not a probe result.
        reason = f"the probe ended without a result ({terminated.get('reason')}: {message})"
        return inconclusive(key=key, why=Why.NOT_FINISHED, reason=reason + pod_reason)
    if not message.strip():
        reason = (
            f"the probe ended without a result (exit {terminated.get('exitCode')},"
            f" {terminated.get('reason', 'no reason')})"
        )
        stopped = terminated.get("exitCode") in (137, 143) or "spec.probe.deadline" in pod_reason
        why = Why.NOT_FINISHED if stopped else Why.BAD_RESULT
        return inconclusive(key=key, why=why, reason=reason + pod_reason)
    return parse_document(key=key, text=message)


def parse_document(*, key: str, text: str) -> Outcome:
    """A termination message as an outcome; anything invalid is Inconclusive(BadResult)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return _bad(key, f"not JSON: {text[:80]!r}")
    if not isinstance(doc, dict):
        return _bad(key, "not a JSON object")
    if doc.get("schema") != report.SCHEMA:
        return _bad(key, f"schema {str(doc.get('schema'))[:60]!r}, expected {report.SCHEMA}")
    try:
        klass = types.ProbeClass(str(doc.get("class")))
    except ValueError:
        return _bad(key, f"unknown class {str(doc.get('class'))[:40]!r}")
    hint = _top_hint(doc)
    reason = shorten.chars(str(doc.get("reason") or ""), limit=400)
    target = ((doc.get("namespaces") or {}).get("target")) or {}
    counts = _counts(target, truncated=bool(doc.get("truncated")))
    try:
        judged = _judged(doc.get("judged"))
    except ValueError as e:
        return _bad(key, f"judged: {e}")
    if klass is types.ProbeClass.INCONCLUSIVE:
        attempts, failures, _ = counts or (0, 0, None)
        run = decision.RunResult(
            klass=klass,
            attempts=attempts,
            failures=failures,
            reason=reason or "probe said so",
            targets=judged,
        )
        unresolvable = _unresolvable(doc.get("dns"))
        why = Why.UNRESOLVABLE if unresolvable or _UNRESOLVED.match(reason) else Why.PROBE
        return Outcome(key=key, run=run, hint=hint, why=why, unresolvable=unresolvable)
    if counts is None:
        return _bad(key, "no valid attempts/failures for the target namespace")
    attempts, failures, blocks = counts
    run = decision.RunResult(
        klass=klass,
        attempts=attempts,
        failures=failures,
        failure_blocks=blocks,
        reason=reason,
        targets=judged,
        window=_window(doc.get("window")),
    )
    return Outcome(key=key, run=run, hint=hint, unresolvable=_unresolvable(doc.get("dns")))


def _unresolvable(entries: object) -> tuple[Unresolved, ...]:
    """The targets the probe's ``dns`` entries say nothing resolves."""
    if not isinstance(entries, list):
        return ()
    return tuple(
        Unresolved(
            name=str(e["target"])[:63],
            host=str(e.get("name"))[:253],
            error=shorten.chars(f"{e.get('status')}: {e.get('detail') or 'no detail'}", limit=200),
        )
        for e in entries
        if isinstance(e, dict) and e.get("unresolvable") is True and e.get("target")
    )


def _window(window: object) -> float | None:
    """Seconds the probe measured; None when it did not say (or said nonsense)."""
    seconds = window.get("seconds") if isinstance(window, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return float(seconds) if 0 < seconds <= 86400 else None


def _judged(entries: object) -> tuple[decision.TargetRun, ...]:
    """The probe's per-target verdicts; none from a probe that did not judge per target.
    Raise ValueError for anything that is not one."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError("not a list")
    return tuple(_target_run(entry) for entry in entries)


def _target_run(entry: object) -> decision.TargetRun:
    if not isinstance(entry, dict):
        raise ValueError("an entry is not an object")
    numbers = [entry.get(k) for k in ("attempts", "failures", "blocks")]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise ValueError(f"counts of {str(entry.get('target'))[:63]!r} are not whole numbers")
    try:
        klass = types.ProbeClass(str(entry.get("class")))
        return decision.TargetRun(
            target=str(entry.get("target") or "")[:63],
            klass=klass,
            attempts=int(entry["attempts"]),
            failures=int(entry["failures"]),
            failure_blocks=int(entry["blocks"]),
        )
    except ValueError as e:
        raise ValueError(f"{str(entry.get('target'))[:63]!r}: {e}") from None


def _bad(key: str, detail: str) -> Outcome:
    return inconclusive(key=key, why=Why.BAD_RESULT, reason=f"invalid probe result: {detail}")


def _counts(target: Mapping[str, Any], *, truncated: bool) -> tuple[int, int, int | None] | None:
    attempts, failures = target.get("attempts"), target.get("failures")
    if not (isinstance(attempts, int) and isinstance(failures, int)):
        return None
    if isinstance(attempts, bool) or isinstance(failures, bool):
        return None
    if not 0 <= failures <= attempts:
        return None
    blocks = target.get("blocks")
    count: int | None = None
    # compact() keeps only the first three blocks when short of room: then the count is
    # a lower bound, and "unknown" (most clustered) is the honest reading.
    if isinstance(blocks, list) and not (truncated and len(blocks) >= 3):
        count = len(blocks)
    if count is not None and not min(failures, 1) <= count <= failures:
        count = None
    return attempts, failures, count


def _top_hint(doc: Mapping[str, Any]) -> str | None:
    hints = doc.get("hints")
    if not isinstance(hints, list) or not hints or not isinstance(hints[0], dict):
        return None
    code, evidence = str(hints[0].get("code", "")), str(hints[0].get("evidence", ""))
    text = f"{code}: {evidence}" if evidence else code
    return shorten.chars(text, limit=HINT_CHARS) or None


def pods_by_job(pods: Iterable[RawPod]) -> dict[str, list[RawPod]]:
    """Probe pods by their Job's ``namespace/name`` (the Job controller's label)."""
    grouped: dict[str, list[RawPod]] = {}
    for pod in pods:
        job = raw.labels(pod).get(JOB_NAME_LABEL)
        if job:
            grouped.setdefault(f"{raw.namespace(pod)}/{job}", []).append(pod)
    return grouped


def job_info(job: RawJob) -> scheduling.JobInfo:
    """What pruning and adoption need of a probe Job."""
    return scheduling.JobInfo(
        name=raw.key(job),
        run=raw.labels(job).get(jobs.LABEL_RUN, ""),
        finished=finished(job=job, pods=[]),
    )
