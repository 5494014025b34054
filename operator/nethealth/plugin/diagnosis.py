"""Pure: a finished one-off probe Job as a diagnosis, with its verdict and exit code.

The probe writes its full result document on stdout (the container's log) and a compact
one, cut to 4096 bytes, in its termination message (``probe/command.py``). The full one
has what a person wants to read (per-CPU counts, every time block, evidence), so it is
preferred; the termination message is what the operator reads, so it is the fallback
when the log cannot be read (no ``pods/log`` permission, log rotated). Whether the run
produced a valid result at all is judged by ``results.collect``, exactly as the
operator judges its own Jobs: a probe that never started is Inconclusive, not broken.

Exit codes (``kubectl nethealth diagnose``), so scripts can branch on them:

- 0 **Healthy**: the probe classified the pod Healthy (and, with ``--failure-rate R``,
  at most R of the pod's connects failed);
- 1 **Degraded**: the probe classified a network fault (``PodNamespace``,
  ``Filtered``, ``NodeNetwork`` or ``Upstream``: the pod's connects failed clearly above a healthy
  path's background loss, and the controls say where), or the class is Healthy but more
  than ``--failure-rate`` of the pod's connects failed;
- 2 **Inconclusive**: no valid measurement: the probe said Inconclusive, its pod was not
  admitted or never started, it did not finish in ``--timeout``, or the pod cannot be
  measured (not Running, hostNetwork, unknown);
- 64 usage error (``options.EXIT_USAGE``); 130 interrupted (the Job is deleted all the same).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.detection import jobs, results
from nethealth.probe import report, types

EXIT_HEALTHY: Final = 0
EXIT_DEGRADED: Final = 1
EXIT_INCONCLUSIVE: Final = 2
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

FAULT_CLASSES: Final = frozenset(
    {
        types.ProbeClass.POD_NAMESPACE,
        types.ProbeClass.FILTERED,
        types.ProbeClass.NODE_NETWORK,
        types.ProbeClass.UPSTREAM,
    }
)
LOG_TAIL_LINES: Final = 6

Document = dict[str, Any]
RawObject = Mapping[str, Any]


class Verdict(enum.StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    INCONCLUSIVE = "Inconclusive"

    @property
    def exit_code(self) -> int:
        return {
            Verdict.HEALTHY: EXIT_HEALTHY,
            Verdict.DEGRADED: EXIT_DEGRADED,
            Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE,
        }[self]


class Source(enum.StrEnum):
    """Where the result document came from."""

    LOG = "log"  # the probe's stdout: the full document
    TERMINATION_MESSAGE = "terminationMessage"  # compact: detail may be dropped
    NONE = "none"  # no valid result


@dataclasses.dataclass(frozen=True, kw_only=True)
class Subject:
    """What was diagnosed, and with which Job."""

    namespace: str
    name: str
    node: str
    job: str  # the probe Job's name (in ``namespace``)
    image: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Diagnosis:
    subject: Subject
    verdict: Verdict
    why: str  # one sentence: why this verdict
    document: Document | None  # the probe's result, None when there is none
    source: Source
    seconds: float | None = None  # from creating the Job to its result
    log_tail: tuple[str, ...] = ()  # the probe's last log lines, when it gave no result

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


def document_from_log(text: str) -> Document | None:
    """The full document from the probe container's log, or None.

    Its stdout is exactly the document (indented JSON); stderr shares the log, so lines
    before or after it (a warning, a traceback) are skipped.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line == "{"]
    ends = [i for i, line in enumerate(lines) if line == "}"]
    for start in starts:
        for end in reversed(ends):
            if end <= start:
                break
            document = _valid("\n".join(lines[start : end + 1]))
            if document is not None:
                return document
    return None


def _valid(text: str) -> Document | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("schema") != report.SCHEMA:
        return None
    return doc


def termination_message(pods: Sequence[RawObject], *, container: str) -> str | None:
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") == container:
                terminated = (status.get("state") or {}).get("terminated") or {}
                return terminated.get("message") or None
    return None


def conclude(
    *,
    subject: Subject,
    job: RawObject,
    pods: Sequence[RawObject],
    refused: str | None,
    log: str | None,
    failure_rate: float | None,
    seconds: float | None = None,
) -> Diagnosis:
    """The diagnosis of a finished (or given-up) one-off Job of ``jobs.one_off``."""
    outcome = results.collect(job=job, pods=pods, refused=refused).get(subject.key)
    container = jobs_container(job)
    document, source = _document(outcome=outcome, pods=pods, container=container, log=log)
    if document is None:
        reason = outcome.run.reason if outcome is not None else "the probe Job measured no pod"
        tail = tuple((log or "").strip().splitlines()[-LOG_TAIL_LINES:])
        return Diagnosis(
            subject=subject,
            verdict=Verdict.INCONCLUSIVE,
            why=reason or "no result",
            document=None,
            source=Source.NONE,
            seconds=seconds,
            log_tail=tail,
        )
    verdict, why = judge(document, failure_rate=failure_rate)
    return Diagnosis(
        subject=subject,
        verdict=verdict,
        why=why,
        document=document,
        source=source,
        seconds=seconds,
    )


def jobs_container(job: RawObject) -> str:
    """The one container of a one-off Job."""
    measured = jobs.measured_pods(job)
    return measured[0].container if measured else "probe-0"


def _document(
    *,
    outcome: results.Outcome | None,
    pods: Sequence[RawObject],
    container: str,
    log: str | None,
) -> tuple[Document | None, Source]:
    if outcome is None or outcome.why not in (None, results.Why.PROBE, results.Why.UNRESOLVABLE):
        return None, Source.NONE  # no valid termination message: a log alone is not trusted
    full = document_from_log(log) if log else None
    if full is not None and full.get("class") == outcome.run.klass.value:
        return full, Source.LOG
    message = termination_message(pods, container=container)
    compact = _valid(message) if message else None
    if compact is None:
        return None, Source.NONE
    return compact, Source.TERMINATION_MESSAGE


def judge(document: Document, *, failure_rate: float | None) -> tuple[Verdict, str]:
    """The verdict on a valid result document, and why (see the module docstring)."""
    reason = str(document.get("reason") or "").strip()
    try:
        klass = types.ProbeClass(str(document.get("class")))
    except ValueError:
        return Verdict.INCONCLUSIVE, f"unknown class {document.get('class')!r}"
    if klass is types.ProbeClass.INCONCLUSIVE:
        return Verdict.INCONCLUSIVE, f"the probe could not measure: {reason or 'no reason given'}"
    if klass in FAULT_CLASSES:
        return Verdict.DEGRADED, f"the probe classified a {klass.value} fault"
    target = (document.get("namespaces") or {}).get("target") or {}
    attempts, failures = int(target.get("attempts") or 0), int(target.get("failures") or 0)
    if failure_rate is not None and attempts and failures / attempts > failure_rate:
        return Verdict.DEGRADED, (
            f"class Healthy, but {failures} of {attempts} connects of the pod failed"
            f" ({100 * failures / attempts:.0f}%), more than --failure-rate"
            f" {100 * failure_rate:g}%"
        )
    return Verdict.HEALTHY, f"{attempts - failures} of {attempts} connects of the pod succeeded"
