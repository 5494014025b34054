"""Pure: Lease-based leader election, the decision part (coordination.k8s.io/v1 Lease).

Two replicas of the operator must not both launch probe Jobs. Each replica tries to hold
one Lease (``nethealth-operator`` in the operator's namespace); only the holder runs the
check loops. The holder renews every ``RENEW`` seconds; a Lease not renewed for its
``leaseDurationSeconds`` is expired and may be taken over. Writes carry the Lease's
``resourceVersion``, so of two replicas racing for an expired Lease exactly one wins (the
other gets a conflict and stays a follower).

Chosen over kopf's peering: peering pauses kopf's own watching, but the check loops are
the operator's own tasks, which must stop and start exactly with leadership; and a Lease
is what ``kubectl get lease`` and every Kubernetes controller use, so people know it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any, Final

DURATION: Final = 15  # seconds a Lease stays valid without renewal
RENEW: Final = 5  # seconds between renewals (and attempts while following)
LEASE_NAME: Final = "nethealth-operator"


class Action(enum.StrEnum):
    RENEW = "Renew"  # we hold it: renew
    ACQUIRE = "Acquire"  # free or expired: take it
    FOLLOW = "Follow"  # someone else holds it


@dataclasses.dataclass(frozen=True, kw_only=True)
class Holder:
    identity: str | None
    renewed: datetime.datetime | None
    duration: int
    transitions: int


def holder(lease: Mapping[str, Any] | None) -> Holder | None:
    if lease is None:
        return None
    spec = lease.get("spec") or {}
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    return Holder(
        identity=spec.get("holderIdentity"),
        renewed=_parse(renewed) if renewed else None,
        duration=int(spec.get("leaseDurationSeconds") or DURATION),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


def decide(*, current: Holder | None, identity: str, now: datetime.datetime) -> Action:
    if current is None or not current.identity:
        return Action.ACQUIRE
    if current.identity == identity:
        return Action.RENEW
    if current.renewed is None or now - current.renewed > datetime.timedelta(
        seconds=current.duration
    ):
        return Action.ACQUIRE
    return Action.FOLLOW


def spec(
    *, identity: str, now: datetime.datetime, current: Holder | None, action: Action
) -> dict[str, Any]:
    """The Lease spec to write for ``action`` (ACQUIRE or RENEW)."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    transitions = current.transitions if current is not None else 0
    written: dict[str, Any] = {
        "holderIdentity": identity,
        "leaseDurationSeconds": DURATION,
        "renewTime": stamp,
        "leaseTransitions": transitions + (1 if action is Action.ACQUIRE and current else 0),
    }
    if action is Action.ACQUIRE:
        written["acquireTime"] = stamp
    return written


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
