"""One diagnosis: check the pod, run its one-off probe Job, wait, read, always clean up.

The Job is deleted at the end whatever happens: a result, an error, Ctrl-C, SIGTERM or
SIGHUP (turned into ``KeyboardInterrupt`` while the session runs). Its name is known
before it is created, so an interrupt that lands between the API's answer and ours still
deletes it. While deleting, further signals are ignored: half a cleanup is worse than a
second's delay. Should the plugin be killed outright, the Job still ends at its deadline
and is removed ``ttlSecondsAfterFinished`` later.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Final

from nethealth import model
from nethealth.detection import jobs, selection
from nethealth.kube import blocking, errors
from nethealth.model import raw
from nethealth.plugin import diagnosis, progress
from nethealth.probe import types

POLL_SECONDS: Final = 0.5
GRACE_SECONDS: Final = 15.0  # beyond the Job's deadline: the Job controller's own delay
CLEANUP_SECONDS: Final = 20.0
_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)


class CannotDiagnose(Exception):
    """The pod cannot be measured (gone, not running, hostNetwork): Inconclusive."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    namespace: str
    pod: str
    spec: model.Spec
    image: str
    failure_rate: float | None


Say = Callable[[str], None]


def default_target(conn: blocking.Connection) -> types.Target:
    """The API server through the ``kubernetes`` Service: every pod should reach it."""
    service = blocking.read_service(conn, namespace="default", name="kubernetes")
    spec = (service or {}).get("spec") or {}
    ip = spec.get("clusterIP")
    ports = [p for p in spec.get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
    if not ip or ip == "None" or not ports:
        raise CannotDiagnose(
            "no --target given and the default, the `kubernetes` Service in namespace"
            " default, has no cluster IP: give --target HOST:PORT"
        )
    return types.Target(name="kubernetes", host=str(ip), port=int(ports[0]["port"]))


def measurable(
    conn: blocking.Connection, *, namespace: str, name: str
) -> tuple[selection.PodRef, str]:
    """The pod and its node's hostname label; ``CannotDiagnose`` saying why not."""
    pod = blocking.read_pod(conn, namespace=namespace, name=name)
    if pod is None:
        raise CannotDiagnose(f"pod {namespace}/{name} not found")
    if selection.PROBE_LABEL in raw.labels(pod):
        raise CannotDiagnose(f"pod {namespace}/{name} is a nethealth probe pod itself")
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = blocking.read_node(conn, name=node_name) if node_name else None
    chosen = selection.select(pods=[pod], nodes=[node] if node else [])
    if chosen.skipped:
        raise CannotDiagnose(
            f"pod {namespace}/{name} cannot be measured: {chosen.skipped[0].reason}"
        )
    (ref,) = chosen.pods
    return ref, chosen.hostnames.get(ref.node, ref.node)


def run(conn: blocking.Connection, *, request: Request, say: Say) -> diagnosis.Diagnosis:
    """Diagnoses the pod; raises ``CannotDiagnose``, ``errors.KubeError`` or
    ``KeyboardInterrupt`` (after deleting the Job)."""
    ref, hostname = measurable(conn, namespace=request.namespace, name=request.pod)
    session = secrets.token_hex(4)
    manifest = jobs.one_off(
        pod=ref, hostname=hostname, spec=request.spec, image=request.image, session=session
    )
    name = str(manifest["metadata"]["name"])
    selector = f"{jobs.LABEL_DIAGNOSE}={session}"
    subject = diagnosis.Subject(
        namespace=ref.namespace, name=ref.name, node=ref.node, job=name, image=request.image
    )
    started = time.monotonic()
    try:
        with _signals_interrupt():
            blocking.create_job(conn, manifest)
            say(f"created probe Job {ref.namespace}/{name} on node {ref.node}")
            job, pods = _wait(conn, request=request, subject=subject, say=say, started=started)
            seconds = time.monotonic() - started
            return _conclude(
                conn, request=request, subject=subject, job=job, pods=pods, seconds=seconds
            )
    finally:
        with _signals_ignored():
            _clean_up(conn, namespace=ref.namespace, name=name, selector=selector, say=say)


def _wait(
    conn: blocking.Connection,
    *,
    request: Request,
    subject: diagnosis.Subject,
    say: Say,
    started: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Polls the Job and its pod until done (or its deadline passed), saying each step."""
    probe = request.spec.probe
    give_up = started + probe.deadline.total_seconds() + GRACE_SECONDS
    window = probe.spread.total_seconds()
    selector = f"batch.kubernetes.io/job-name={subject.job}"
    shown = progress.Step.CREATED - 1  # steps only move forward, each is said once
    while True:
        job = blocking.read_job(conn, namespace=subject.namespace, name=subject.job)
        if job is None:
            raise errors.KubeError(f"probe Job {subject.namespace}/{subject.job} disappeared")
        pods = blocking.list_pods(conn, namespace=subject.namespace, selector=selector)
        step = progress.observe(job=job, pods=pods, window=window)
        if step.step > shown:
            shown = step.step
            say(f"{step.text} [{time.monotonic() - started:.0f} s]")
        if step.step is progress.Step.DONE:
            return job, pods
        if time.monotonic() > give_up:
            say(f"gave up waiting after {time.monotonic() - started:.0f} s")
            return job, pods
        if not pods and time.monotonic() - started > 5:
            why = blocking.refused(conn, namespace=subject.namespace, job=subject.job)
            if why is not None:
                say(f"its pod was refused: {why}")
                return job, pods
        time.sleep(POLL_SECONDS)


def _conclude(
    conn: blocking.Connection,
    *,
    request: Request,
    subject: diagnosis.Subject,
    job: dict[str, Any],
    pods: list[dict[str, Any]],
    seconds: float,
) -> diagnosis.Diagnosis:
    refused = None
    log = None
    if pods:
        pod = max(pods, key=lambda p: raw.meta(p).get("creationTimestamp", ""))
        log = blocking.read_log(
            conn,
            namespace=subject.namespace,
            pod=raw.name(pod),
            container=diagnosis.jobs_container(job),
        )
    else:
        refused = blocking.refused(conn, namespace=subject.namespace, job=subject.job)
    return diagnosis.conclude(
        subject=subject,
        job=job,
        pods=pods,
        refused=refused,
        log=log,
        failure_rate=request.failure_rate,
        seconds=seconds,
    )


def _clean_up(
    conn: blocking.Connection, *, namespace: str, name: str, selector: str, say: Say
) -> None:
    try:
        blocking.delete_job_and_pods(conn, namespace=namespace, name=name, selector=selector)
        deadline = time.monotonic() + CLEANUP_SECONDS
        while time.monotonic() < deadline:
            left = blocking.list_jobs(conn, namespace=namespace, selector=selector)
            left += blocking.list_pods(conn, namespace=namespace, selector=selector)
            if not left:
                say(f"deleted probe Job {namespace}/{name} and its pod")
                return
            time.sleep(POLL_SECONDS)
        say(f"probe Job {namespace}/{name} is being deleted (its pod is still terminating)")
    except errors.KubeError as error:
        say(
            f"could not delete probe Job {namespace}/{name}: {error}; it ends at its deadline"
            f" and is removed {jobs.TTL_SECONDS} s later, or: kubectl delete job -n"
            f" {namespace} {name}"
        )


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so ``finally`` deletes the Job."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    every = (signal.SIGINT, *_SIGNALS)
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in every}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
