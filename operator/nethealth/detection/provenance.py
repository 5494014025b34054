"""Pure: whether a probe pod is the one its Job made, before its result is believed.

A probe result decides whether a workload is moved to ``hostNetwork`` or moved back, and
it is read from a pod's termination message. Pods are found by labels, which anyone who
may create a pod in the namespace can set: a forged pod carrying the check's labels and a
Job's ``batch.kubernetes.io/job-name`` could say "degraded" (and trigger a remediation)
or "healthy" (and undo one). So a pod counts only when

- its controller owner reference is the Job (kind ``Job``, the Job's **uid**: a pod
  created by hand, or by another Job of the same name made after ours was deleted,
  has another or none), and
- its containers are the Job template's: same names, images, commands and arguments (a
  pod the Job controller made from our template has them verbatim).

The chart's admission policies refuse such pods before they exist (docs/security.md);
this check holds where they are not installed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nethealth.model import raw

RawJob = Mapping[str, Any]
RawPod = Mapping[str, Any]
_COMPARED = ("name", "image", "command", "args")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Refused:
    pod: str  # namespace/name
    why: str


def why_not(*, job: RawJob, pod: RawPod) -> str | None:
    """Why ``pod`` is not a pod of ``job`` (None: it is)."""
    owner = raw.controller(pod)
    if owner is None or owner.get("kind") != "Job" or owner.get("uid") != raw.uid(job):
        return f"its controller is not Job {raw.name(job)} (uid {raw.uid(job)})"
    template = (((job.get("spec") or {}).get("template") or {}).get("spec")) or {}
    wanted = [_shape(c) for c in template.get("containers") or []]
    found = [_shape(c) for c in (pod.get("spec") or {}).get("containers") or []]
    if found != wanted:
        return "its containers are not the Job template's (name, image, command, args)"
    return None


def sort(
    *, jobs: Iterable[RawJob], pods_by_job: Mapping[str, Sequence[RawPod]]
) -> tuple[dict[str, list[RawPod]], list[Refused]]:
    """The pods of each Job (``namespace/name``) that are its own, and the others."""
    genuine: dict[str, list[RawPod]] = {}
    refused: list[Refused] = []
    for job in jobs:
        key = raw.key(job)
        for pod in pods_by_job.get(key, ()):
            why = why_not(job=job, pod=pod)
            if why is None:
                genuine.setdefault(key, []).append(pod)
            else:
                refused.append(Refused(pod=raw.key(pod), why=why))
    return genuine, refused


def _shape(container: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(container.get(field) for field in _COMPARED)
