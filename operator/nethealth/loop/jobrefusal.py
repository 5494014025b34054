"""Why a Job has no pod: the Job controller's latest ``FailedCreate`` Event says it.

A probe, shared or cure Job whose pod was never created (Pod Security, a quota, an
admission policy) leaves its reason only there; the three shells read it the same way.
"""

from __future__ import annotations

from nethealth import kube


async def why_no_pod(api: kube.Api, *, namespace: str, name: str) -> str | None:
    """The message of the Job's latest ``FailedCreate`` Event (None: there is none)."""
    return await api.latest_event_message(
        namespace=namespace, kind="Job", name=name, reason="FailedCreate"
    )
