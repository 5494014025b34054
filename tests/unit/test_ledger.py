"""The remediation record in status: what was done to each workload, and its conditions."""

from __future__ import annotations

import dataclasses
import datetime

from remediation_builders import CHECK, NOW, facts, plan_for, spec, web_key, workload

from nethealth import model
from nethealth.remediation import hostnetwork, ledger, summary

State = model.WorkloadState
Type = model.ConditionType


def patched_entry(at: datetime.datetime = NOW) -> tuple[ledger.Key, ledger.Entry]:
    (verdict,) = plan_for().patches
    return ledger.patched(verdict, now=at)


def test_a_patch_is_recorded_as_verifying_with_the_exact_body_and_the_originals():
    key, entry = patched_entry()
    assert key == web_key()
    assert entry.state is State.VERIFYING
    assert entry.changed_at == NOW
    assert entry.original == '{"dnsPolicy": "ClusterFirst", "hostNetwork": null}'
    assert '"hostNetwork": true' in (entry.patch or "")
    assert entry.pods == ("apps/web-1",)


def test_dry_run_is_recorded_with_the_patch_and_no_change_time():
    plan = plan_for(rem=spec(mode=model.RemediationMode.DRY_RUN))
    entries = ledger.planned(previous={}, plan=plan, now=NOW)
    entry = entries[web_key()]
    assert entry.state is State.DRY_RUN
    assert entry.changed_at is None
    assert '"dnsPolicy": "ClusterFirstWithHostNet"' in (entry.patch or "")


def test_a_patch_verdict_is_not_recorded_before_its_write_succeeded():
    assert ledger.planned(previous={}, plan=plan_for(), now=NOW) == {}


def test_the_cooldown_after_our_own_change_keeps_the_more_telling_entry():
    key, entry = patched_entry(at=NOW - datetime.timedelta(minutes=5))
    failed = ledger.ineffective(
        entry, why=model.Reason.STILL_FAILING, hint="PolicyRuleUnreachable: x", now=NOW
    )
    plan = plan_for(history=ledger.history({key: failed}))
    (verdict,) = plan.verdicts
    assert verdict.reason is model.Reason.COOLDOWN
    kept = ledger.planned(previous={key: failed}, plan=plan, now=NOW)
    assert kept[key].state is State.INEFFECTIVE
    assert "PolicyRuleUnreachable" in kept[key].message


def test_a_patched_workload_whose_record_was_lost_is_verified_again():
    patched = workload(
        host_network=True,
        dns_policy=hostnetwork.HOST_DNS_POLICY,
        annotations={hostnetwork.ORIGINAL_ANNOTATION: "{}", hostnetwork.BY_ANNOTATION: CHECK},
    )
    plan = plan_for(workloads={web_key(): patched})
    entries = ledger.planned(previous={}, plan=plan, now=NOW)
    assert entries[web_key()].state is State.VERIFYING


def test_settle_drops_blocked_entries_once_no_pod_of_the_workload_is_degraded():
    plan = plan_for(rem=spec(pause_requests=("change freeze",)))
    entries = ledger.planned(previous={}, plan=plan, now=NOW)
    assert entries[web_key()].state is State.BLOCKED
    still = ledger.settle(
        entries, degraded_workloads=[web_key()], live={}, cooldown=spec().cooldown, now=NOW
    )
    assert web_key() in still
    gone = ledger.settle(entries, degraded_workloads=[], live={}, cooldown=spec().cooldown, now=NOW)
    assert gone == {}


def test_settle_forgets_a_change_someone_reverted_or_whose_workload_is_gone():
    key, entry = patched_entry()
    reverted = workload()  # no annotation: `nethealth revert` restored it
    for live in ({key: reverted}, {key: None}):
        assert (
            ledger.settle(
                {key: entry}, degraded_workloads=[], live=live, cooldown=spec().cooldown, now=NOW
            )
            == {}
        )


def _assert_kept_for_the_cooldown_only(key: ledger.Key, entry: ledger.Entry) -> None:
    """Settled within an hour's cooldown the entry stays; an hour later it is gone."""
    hour = datetime.timedelta(hours=1)
    within = ledger.settle({key: entry}, degraded_workloads=[], live={}, cooldown=hour, now=NOW)
    assert within == {key: entry}
    after = NOW + hour
    assert (
        ledger.settle({key: entry}, degraded_workloads=[], live={}, cooldown=hour, now=after) == {}
    )


def test_settle_keeps_an_ineffective_entry_for_its_cooldown():
    key, entry = patched_entry()
    failed = ledger.ineffective(entry, why=model.Reason.NOT_VERIFIED_IN_TIME, hint=None, now=NOW)
    _assert_kept_for_the_cooldown_only(key, failed)


def test_conditions_say_verifying_then_remediated_and_remove_what_has_nothing_to_say():
    key, entry = patched_entry()
    waiting = summary.conditions({key: entry}, plan=None)
    assert waiting[Type.REMEDIATED] is not None
    assert waiting[Type.REMEDIATED][:2] == (False, model.Reason.VERIFYING)
    assert waiting[Type.REMEDIATION_INEFFECTIVE] is None
    done = summary.conditions({key: ledger.verified(entry)}, plan=None)
    assert done[Type.REMEDIATED] is not None
    assert done[Type.REMEDIATED][:2] == (True, model.Reason.VERIFIED)


def test_conditions_name_a_bare_pod_that_cannot_be_remediated():
    bare = facts(owner=hostnetwork.NotRemediable(why="a bare pod (no controller)"))
    plan = plan_for(pods=[bare])
    found = summary.conditions({}, plan=plan)
    blocked = found[Type.REMEDIATION_BLOCKED]
    assert blocked is not None
    assert blocked[1] is model.Reason.NOT_REMEDIABLE
    assert "apps/web-1" in blocked[2]


def test_the_record_round_trips_through_status_worst_first_and_bounded():
    entries = {}
    for i in range(model.MAX_WORKLOAD_RESULTS + 5):
        key, entry = patched_entry()
        key = dataclasses.replace(key, name=f"web-{i:02d}")
        entries[key] = dataclasses.replace(entry, name=key.name)
    first = next(iter(entries))
    entries[first] = ledger.verified(entries[first])
    last = list(entries)[-1]
    entries[last] = ledger.ineffective(
        entries[last], why=model.Reason.STILL_FAILING, hint=None, now=NOW
    )
    dumped = ledger.dump(entries)
    assert len(dumped) == model.MAX_WORKLOAD_RESULTS
    assert dumped[0].state is State.INEFFECTIVE
    status = dataclasses.replace(model.EMPTY_STATUS, remediation=dumped)
    loaded = model.parse_status(model.dump_status(status))
    assert ledger.load(loaded.remediation) == {ledger.key_of(e): e for e in dumped}


def test_an_apply_refused_by_the_server_is_blocked_with_its_error():
    (verdict,) = plan_for().patches
    key, entry = ledger.apply_failed(verdict, error="422 Unprocessable: hostPort clash")
    assert entry.state is State.BLOCKED
    assert entry.reason == model.Reason.APPLY_FAILED
    assert "hostPort clash" in entry.message
    assert key == web_key()


def test_restart_then_host_network_escalates_only_after_a_restart_within_the_window():
    (verdict,) = plan_for(
        rem=spec(strategy=model.RemediationStrategy.RESTART_THEN_HOST_NETWORK)
    ).patches
    assert not ledger.escalates({}, web_key())
    key, entry = ledger.restarted(verdict, now=NOW)
    assert entry.state is State.RESTARTED
    assert ledger.escalates({key: entry}, key)
    # A restart starts no cooldown: degrading again is patched at once.
    assert ledger.history({key: entry}) == {}
    _assert_kept_for_the_cooldown_only(key, entry)


def test_a_change_someone_else_undid_is_reported_naming_them_and_kept_for_the_revert():
    key, entry = patched_entry()
    undone = ledger.reverted_by(entry, manager="argocd-controller")
    assert undone.state is State.REVERTED_BY_OTHER
    assert "argocd-controller" in undone.message
    assert "not patched again" in undone.message
    found = summary.conditions({key: undone}, plan=None)
    reverted = found[Type.REMEDIATION_REVERTED]
    assert reverted is not None
    assert reverted[:2] == (True, model.Reason.REVERTED_BY_OTHER_MANAGER)
