"""Pure: the check's four remediation conditions, built in one place.

``RemediationBlocked``, ``Remediated``, ``RemediationIneffective`` and
``RemediationReverted`` say, for all of a check's workloads at once, what ``status.remediation``
says of each: from this run's plan when there is one (its words also cover pods without a
workload, such as bare pods), else from the entries the ledger keeps. A condition with
nothing to report is None (removed from status), not a False with an invented reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nethealth import model
from nethealth.remediation import ledger, planning


def conditions(
    entries: Mapping[ledger.Key, ledger.Entry], *, plan: planning.Plan | None
) -> dict[model.ConditionType, tuple[bool, model.Reason, str] | None]:
    """The four remediation conditions; None removes one (nothing to report)."""
    found: dict[model.ConditionType, tuple[bool, model.Reason, str] | None] = {
        t: None
        for t in (
            model.ConditionType.REMEDIATION_BLOCKED,
            model.ConditionType.REMEDIATED,
            model.ConditionType.REMEDIATION_INEFFECTIVE,
            model.ConditionType.REMEDIATION_REVERTED,
        )
    }
    if plan is not None:
        # The plan's own words: they also cover pods without a workload (bare pods).
        for type, is_true, reason, message in of_plan(plan):
            found[type] = (is_true, reason, message)
    else:
        blocked = [e for e in entries.values() if e.state is ledger.State.BLOCKED]
        if blocked:
            found[model.ConditionType.REMEDIATION_BLOCKED] = _summary(blocked)
    reverted = [e for e in entries.values() if e.state is ledger.State.REVERTED_BY_OTHER]
    if reverted and found[model.ConditionType.REMEDIATION_REVERTED] is None:
        found[model.ConditionType.REMEDIATION_REVERTED] = _summary(reverted)
    done = [e for e in entries.values() if e.state is ledger.State.REMEDIATED]
    waiting = [e for e in entries.values() if e.state is ledger.State.VERIFYING]
    cured = [e for e in entries.values() if e.state is ledger.State.CURED_IN_PLACE]
    done += [e for e in cured if e.reason == model.Reason.VERIFIED]
    curing = [e for e in cured if e.reason == model.Reason.VERIFYING]
    if done:
        found[model.ConditionType.REMEDIATED] = _summary(done)
    elif curing and not waiting:
        found[model.ConditionType.REMEDIATED] = (False, model.Reason.VERIFYING, curing[0].message)
    elif waiting:
        found[model.ConditionType.REMEDIATED] = (
            False,
            model.Reason.VERIFYING,
            f"{ledger.key_of(waiting[0])} runs on the node's network; waiting for its new pods'"
            " probe results",
        )
    failed = [e for e in entries.values() if e.state is ledger.State.INEFFECTIVE]
    if failed:
        found[model.ConditionType.REMEDIATION_INEFFECTIVE] = _summary(failed)
    return found


def _summary(entries: list[ledger.Entry]) -> tuple[bool, model.Reason, str]:
    first = sorted(entries, key=ledger.key_of)[0]
    more = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
    reason = model.Reason(first.reason) if first.reason in set(model.Reason) else None
    fallback = {
        ledger.State.BLOCKED: model.Reason.NOT_REMEDIABLE,
        ledger.State.REMEDIATED: model.Reason.VERIFIED,
        ledger.State.INEFFECTIVE: model.Reason.STILL_FAILING,
        ledger.State.REVERTED_BY_OTHER: model.Reason.REVERTED_BY_OTHER_MANAGER,
    }
    return True, reason or fallback[first.state], first.message + more


def of_plan(plan: planning.Plan) -> Iterable[tuple[model.ConditionType, bool, model.Reason, str]]:
    """(type, true?, reason, message) for the check's remediation conditions, one per type:
    ``RemediationBlocked`` from the first blocked workload, ``RemediationReverted`` from
    the first workload changed back by another manager. A type not yielded has nothing to
    report: the caller removes it from status (model.Reason has no neutral reason yet)."""
    blocked = [v for v in plan.blocked if v.reason is not None]
    if blocked:
        first = blocked[0]
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        assert first.reason is not None
        yield model.ConditionType.REMEDIATION_BLOCKED, True, first.reason, first.message + more
    reverted = [v for v in plan.verdicts if v.outcome is planning.Outcome.REVERTED_BY_OTHER]
    if reverted:
        first = reverted[0]
        yield (
            model.ConditionType.REMEDIATION_REVERTED,
            True,
            model.Reason.REVERTED_BY_OTHER_MANAGER,
            first.message,
        )
