"""Leader election by Lease: who acquires, renews, or follows."""

from __future__ import annotations

import datetime

import pytest

from nethealth.loop import election

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def _lease(holder: str | None, *, age: float) -> dict[str, object]:
    renewed = (NOW - datetime.timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "spec": {
            "holderIdentity": holder,
            "renewTime": renewed,
            "leaseDurationSeconds": 15,
            "leaseTransitions": 2,
        }
    }


@pytest.mark.parametrize(
    ("lease", "action"),
    [
        (None, election.Action.ACQUIRE),
        (_lease(None, age=1), election.Action.ACQUIRE),
        (_lease("me", age=1), election.Action.RENEW),
        (_lease("me", age=60), election.Action.RENEW),
        (_lease("other", age=5), election.Action.FOLLOW),
        (_lease("other", age=16), election.Action.ACQUIRE),
    ],
)
def test_a_replica_acquires_a_free_or_expired_lease_and_follows_a_live_one(
    lease: dict[str, object] | None, action: election.Action
) -> None:
    assert election.decide(current=election.holder(lease), identity="me", now=NOW) is action


def test_taking_over_counts_a_transition_and_renewing_does_not() -> None:
    taken = election.holder(_lease("other", age=30))
    spec = election.spec(identity="me", now=NOW, current=taken, action=election.Action.ACQUIRE)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("me", 3)
    assert spec["acquireTime"] == spec["renewTime"] == "2026-01-01T12:00:00.000000Z"
    mine = election.holder(_lease("me", age=3))
    renewed = election.spec(identity="me", now=NOW, current=mine, action=election.Action.RENEW)
    assert renewed["leaseTransitions"] == 2
    assert "acquireTime" not in renewed
