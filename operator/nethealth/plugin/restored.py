"""Pure: what ``revert`` restored, in words, from the workload before and after.

The record is the annotation ``hostnetwork.ORIGINAL_ANNOTATION`` written in the same apply
as the hostNetwork patch; the remediating check's name and time travel with it, so the
message can say who moved the workload and warn that the check may move it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nethealth.remediation import hostnetwork

RawObject = Mapping[str, Any]


def name(key: hostnetwork.WorkloadKey) -> str:
    return f"{key.kind.value.lower()}/{key.name} in namespace {key.namespace}"


def outcome(*, key: hostnetwork.WorkloadKey, before: RawObject, after: RawObject | None) -> str:
    """One paragraph: what was restored, or that nothing was recorded."""
    recorded = hostnetwork.annotations_of(before).get(hostnetwork.ORIGINAL_ANNOTATION)
    spec = hostnetwork.pod_spec(before)
    now = (
        f"hostNetwork {_value(spec.get('hostNetwork'))}, dnsPolicy {_value(spec.get('dnsPolicy'))}"
    )
    if after is None and recorded is not None:
        return f"{name(key)}: deleted meanwhile, nothing restored."
    if recorded is None:
        return (
            f"{name(key)}: nothing recorded, nothing restored: no nethealth hostNetwork patch"
            f" is on record (never patched, or reverted already). Its pod template has {now}."
        )
    original = hostnetwork.Original.load(recorded)
    annotations = hostnetwork.annotations_of(before)
    by = annotations.get(hostnetwork.BY_ANNOTATION, "an unknown check")
    at = annotations.get(hostnetwork.AT_ANNOTATION, "an unknown time")
    restored = (
        f"hostNetwork {_value(original.host_network)}, dnsPolicy {_value(original.dns_policy)}"
    )
    return (
        f"{name(key)}: restored {restored} (it had {now}, set by check {by} at {at}); its"
        " pods roll out in their own network namespace again. If that check's remediation"
        " mode is Auto and the pods still fail, it may patch the workload again: add a"
        " pause request (spec.remediation.pauseRequests) to the check first."
    )


def _value(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
