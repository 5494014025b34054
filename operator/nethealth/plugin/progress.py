"""Pure: where a one-off probe Job is, as the step a person waiting for it sees.

A diagnosis takes the probe's whole window (30 s by default) plus the pod's start, so
the plugin says what it is waiting for: Job created, pod scheduled, probe running, done.
A container that cannot start and will not (an image that is not there, a bad config)
ends the wait at once instead of at the deadline: the result is Inconclusive either way,
and nobody should wait two minutes to learn that an image name is wrong.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.detection import results
from nethealth.model import raw

RawObject = Mapping[str, Any]

# Waiting reasons that will not clear by themselves within a probe's deadline.
STUCK_REASONS: Final = frozenset(
    {
        "ErrImageNeverPull",
        "InvalidImageName",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


class Step(enum.IntEnum):
    CREATED = 1  # the Job exists, its pod does not (yet)
    SCHEDULED = 2  # the pod is bound to the node, containers starting
    RUNNING = 3  # the probe measures
    DONE = 4  # the Job has its answer (or will never get one)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Progress:
    step: Step
    text: str


def observe(*, job: RawObject, pods: Sequence[RawObject], window: float) -> Progress:
    """The step the Job is at; ``window`` is the probe's spread, in seconds."""
    if results.finished(job=job, pods=pods):
        return Progress(step=Step.DONE, text=f"probe finished ({_ending(job, pods)})")
    pod = _latest(pods)
    if pod is None:
        return Progress(step=Step.CREATED, text="Job created, waiting for its pod")
    name = raw.name(pod)
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in STUCK_REASONS:
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            return Progress(step=Step.DONE, text=f"probe cannot start: {waiting['reason']}{detail}")
    if statuses and all("terminated" in (s.get("state") or {}) for s in statuses):
        # Its result is in; the pod's phase and the Job's condition follow a moment later.
        return Progress(step=Step.DONE, text=f"probe finished ({_ending(job, pods)})")
    if any("running" in (s.get("state") or {}) for s in statuses):
        return Progress(
            step=Step.RUNNING,
            text=f"probe running in pod {name}: measuring for about {window:g} s",
        )
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return Progress(step=Step.SCHEDULED, text=f"pod {name} scheduled on node {node}")
    return Progress(step=Step.CREATED, text=f"pod {name} created, waiting to be scheduled")


def _latest(pods: Sequence[RawObject]) -> RawObject | None:
    if not pods:
        return None
    return max(pods, key=lambda p: raw.meta(p).get("creationTimestamp", ""))


def _ending(job: RawObject, pods: Sequence[RawObject]) -> str:
    pod = _latest(pods)
    for status in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated is not None:
            return f"exit code {terminated.get('exitCode')}"
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            reason = condition.get("reason")
            return f"Job {condition['type']}" + (f": {reason}" if reason else "")
    phase = ((pod or {}).get("status") or {}).get("phase")
    return f"pod {phase}" if phase else "no pod"
