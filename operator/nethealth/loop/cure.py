"""Runs the cure Job on one pod's node and reads its result; the Job never outlives it.

``remediation.curejob`` builds the Job; this shell creates it, polls its pod until the
``nethealth cure`` container reported (or the Job's deadline plus a grace passed), and
deletes the Job (and its pod) whatever happened, so no cure Job is left behind by a
running operator (one that dies meanwhile leaves it to the Job's ``ttlSecondsAfterFinished``).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth import kube
from nethealth.detection import provenance, selection
from nethealth.loop import clock, jobrefusal
from nethealth.model import raw
from nethealth.remediation import curejob, finalizer

logger = logging.getLogger(__name__)

POLL_SECONDS: Final = 1.0
GRACE: Final = datetime.timedelta(seconds=15)


def hostnames(nodes: Sequence[raw.Node]) -> dict[str, str]:
    """Node name -> its hostname label, which the Job's nodeSelector pins."""
    return {raw.name(n): raw.labels(n).get(selection.HOSTNAME_LABEL, raw.name(n)) for n in nodes}


async def run(
    api: kube.Api,
    clock: clock.Clock,
    *,
    pod: selection.PodRef,
    hostnames: Mapping[str, str],
    image: str,
    action: str,
    check_uid: str,
) -> curejob.Outcome:
    """The cure's outcome for ``pod``; a Job refused or without a result is an error."""
    manifest = curejob.manifest(
        pod=pod,
        hostname=hostnames.get(pod.node, pod.node),
        image=image,
        action=action,
        check_uid=check_uid,
    )
    name = raw.name(manifest)
    try:
        try:
            await api.create_job(manifest)  # False: left by an operator that died; read it
        except kube.KubeError as error:
            return curejob.Outcome(result=None, error=f"cure Job {name} refused: {error}")
        give_up = clock.now() + datetime.timedelta(seconds=curejob.DEADLINE_SECONDS) + GRACE
        while True:
            selector = curejob.selector(name)
            pods = await api.list_pods(namespace=pod.namespace, label_selector=selector)
            mine = [
                j
                for j in await api.list_jobs_everywhere(label_selector=selector)
                if raw.key(j) == f"{pod.namespace}/{name}"
            ]
            for found in pods:
                # Only the pod our Job made: a pod with forged labels is not a result.
                why = provenance.why_not(job=mine[0], pod=found) if mine else "its Job is gone"
                if why is not None:
                    logger.warning("ignoring pod %s: %s", raw.key(found), why)
                    continue
                outcome = curejob.outcome(found)
                if outcome is not None:
                    return outcome
            if clock.now() > give_up:
                refused = None
                if not pods:
                    refused = await jobrefusal.why_no_pod(api, namespace=pod.namespace, name=name)
                why = f"its pod was not created: {refused}" if refused else "no result in time"
                return curejob.Outcome(result=None, error=f"cure Job {name}: {why}")
            await clock.sleep(POLL_SECONDS)
    finally:
        await api.delete_job(namespace=pod.namespace, name=name)


async def remove_all(
    api: kube.Api, clock: clock.Clock, body: Mapping[str, Any], *, image: str
) -> tuple[list[str], list[str]]:
    """A deleted check's routes out of its pods' namespaces (``finalizer.routes_to_remove``);
    the pods whose route was removed, and those it could not be removed from. A pod that is
    gone took its namespace and route with it. A failure does not hold the check: the route
    is harmless (it is the cure), a check that cannot be deleted is not; the operator logs
    it."""
    wanted = finalizer.routes_to_remove(body)
    if not wanted:
        return [], []
    names = hostnames(await api.list_nodes())
    removed, failed = [], []
    for namespace in sorted({k.split("/", 1)[0] for k in wanted}):
        for pod in await api.list_pods(namespace=namespace, label_selector=""):
            if raw.key(pod) not in wanted or not (node := (pod.get("spec") or {}).get("nodeName")):
                continue
            ref = selection.PodRef(
                namespace=namespace,
                name=raw.name(pod),
                uid=raw.uid(pod),
                node=str(node),
                ip=str(raw.status(pod).get("podIP") or ""),
            )
            outcome = await run(
                api, clock, pod=ref, hostnames=names, image=image, action=curejob.REMOVE,
                check_uid=raw.uid(body),
            )  # fmt: skip
            if outcome.ok:
                removed.append(f"{ref.key}: {outcome.result}")
            else:
                failed.append(f"{ref.key}: {outcome.error}")
    return removed, failed
