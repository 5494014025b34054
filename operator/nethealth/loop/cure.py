"""Runs the cure Job on one pod's node and reads its result; the Job never outlives it.

``remediation.curejob`` builds the Job; this shell creates it, polls its pod until the
``nethealth cure`` container reported (or the Job's deadline plus a grace passed), and
deletes the Job (and its pod) whatever happened, so no cure Job is left behind by a
running operator (one that dies meanwhile leaves it to the Job's ``ttlSecondsAfterFinished``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Final

from nethealth import kube
from nethealth.detection import selection
from nethealth.loop import clock
from nethealth.model import raw
from nethealth.remediation import curejob

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
        await api.create_job(manifest)  # False: left by an operator that died; read it
        give_up = clock.now() + datetime.timedelta(seconds=curejob.DEADLINE_SECONDS) + GRACE
        while True:
            pods = await api.list_pods(
                namespace=pod.namespace, label_selector=curejob.selector(name)
            )
            for found in pods:
                outcome = curejob.outcome(found)
                if outcome is not None:
                    return outcome
            if clock.now() > give_up:
                refused = None
                if not pods:
                    refused = await api.latest_event_message(
                        namespace=pod.namespace, kind="Job", name=name, reason="FailedCreate"
                    )
                why = f"its pod was not created: {refused}" if refused else "no result in time"
                return curejob.Outcome(result=None, error=f"cure Job {name}: {why}")
            await clock.sleep(POLL_SECONDS)
    finally:
        await api.delete_job(namespace=pod.namespace, name=name)
