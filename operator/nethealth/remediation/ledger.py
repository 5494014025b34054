"""Pure: the record of what remediation did to each workload, kept in ``status.remediation``.

The record is the operator's memory across runs and restarts: when a workload was last
changed (the cooldown), which change waits for verification, which one was verified or
found ineffective. It lives in the check's status (the only object the operator owns), so
a restarted operator continues where the last one stopped. Entries are keyed by workload.

An entry says one of (``model.WorkloadState``): the patch DryRun would apply; why it is
Blocked; Verifying (patched, waiting for the new pods' runs); Remediated; Ineffective
(reverted); changed back by another manager. Entries for blocked and dry-run workloads
last as long as their pods are degraded; those of changed workloads last while the change
matters: until the workload is reverted or gone, or an Ineffective one's cooldown passed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nethealth import model
from nethealth.detection import selection
from nethealth.model import raw
from nethealth.remediation import actions, curejob, hostnetwork, inplace, planning

State = model.WorkloadState
Entry = model.WorkloadResult
Key = hostnetwork.WorkloadKey

CHANGED: frozenset[State] = frozenset({State.VERIFYING, State.REMEDIATED})
# Changes whose record must outlive everything else: the workload still carries something
# of ours (the values, or at least our annotations) until it is reverted or released.
HELD: frozenset[State] = CHANGED | {State.REVERTED_BY_OTHER}
KEPT: frozenset[State] = CHANGED | {
    State.INEFFECTIVE,
    State.REVERTED_BY_OTHER,
    State.RESTARTED,
    State.CURED_IN_PLACE,
    State.PROTECTED,
}
# Not a change of the workload: no cooldown, no workload annotation to check.
IN_PLACE: frozenset[State] = frozenset({State.CURED_IN_PLACE, State.PROTECTED})


def key_of(entry: Entry) -> Key:
    return Key(kind=hostnetwork.Kind(entry.kind), namespace=entry.namespace, name=entry.name)


def load(entries: Iterable[Entry]) -> dict[Key, Entry]:
    found = {}
    for entry in entries:
        try:
            found[key_of(entry)] = entry
        except ValueError:
            continue  # a kind this version does not patch: nothing it could do with it
    return found


def dump(entries: Mapping[Key, Entry]) -> tuple[Entry, ...]:
    """Worst first (what needs a person), bounded; a changed workload is never dropped:
    the status is the record a person and the finalizer read, whatever else is blocked."""
    order = {
        State.INEFFECTIVE: 0,
        State.REVERTED_BY_OTHER: 1,
        State.BLOCKED: 2,
        State.VERIFYING: 3,
        State.DRY_RUN: 4,
        State.RESTARTED: 5,
        State.CURED_IN_PLACE: 5,
        State.PROTECTED: 7,
        State.REMEDIATED: 6,
    }
    ranked = sorted(entries.items(), key=lambda item: (order[item[1].state], item[0]))
    # What must stay comes first when choosing, whatever its rank on display: what needs a
    # person (Ineffective, changed back by another manager), then every other change; only
    # then blocked, dry-run and restarted workloads. (Beyond the bound, possible only with
    # that many changes, the workloads' own labels still lead finalize to them.)
    urgent = {State.INEFFECTIVE, State.REVERTED_BY_OTHER}
    chosen = sorted(
        ranked,
        key=lambda item: (
            0 if item[1].state in urgent else 1 if item[1].state in HELD else 2,
            order[item[1].state],
            item[0],
        ),
    )[: model.MAX_WORKLOAD_RESULTS]
    kept = {key for key, _ in chosen}
    return tuple(entry for key, entry in ranked if key in kept)


def history(entries: Mapping[Key, Entry]) -> dict[Key, datetime.datetime]:
    """When this operator last changed each workload: the cooldown's start. A restart is
    not a change of the workload: the ladder's next step must not wait for a cooldown."""
    return {
        key: e.changed_at
        for key, e in entries.items()
        if e.changed_at is not None and e.state is not State.RESTARTED and e.state not in IN_PLACE
    }


def escalates(entries: Mapping[Key, Entry], key: Key) -> bool:
    """RestartThenHostNetwork: the pods were restarted within the window (the cooldown;
    ``settle`` drops older restarts) and degraded again, so now hostNetwork."""
    entry = entries.get(key)
    return entry is not None and entry.state is State.RESTARTED


def restarted(verdict: planning.Verdict, *, now: datetime.datetime) -> tuple[Key, Entry]:
    key = verdict.workload
    assert key is not None
    return key, _entry(
        key,
        state=State.RESTARTED,
        verdict=verdict,
        changed_at=now,
        message=f"{verdict.subject}: restarted degraded pod(s) {', '.join(verdict.pods)};"
        " hostNetwork if they degrade again within the cooldown",
    )


def _entry(
    key: Key,
    *,
    state: State,
    verdict: planning.Verdict,
    changed_at: datetime.datetime | None,
    reason: model.Reason | None = None,
    message: str | None = None,
) -> Entry:
    body = verdict.body
    before = None
    if body is not None:
        before = raw.annotations(body).get(hostnetwork.ORIGINAL_ANNOTATION)
    text = message if message is not None else verdict.message
    if verdict.warnings and message is None:
        text += "; warning: " + "; ".join(verdict.warnings)
    return Entry(
        kind=str(key.kind),
        namespace=key.namespace,
        name=key.name,
        state=state,
        reason=str(reason or verdict.reason) if (reason or verdict.reason) else None,
        message=text[:1024],
        pods=verdict.pods[: model.MAX_POD_RESULTS],
        patch=json.dumps(body, sort_keys=True)[:4096] if body is not None else None,
        original=before,
        changed_at=changed_at,
    )


def planned(
    *, previous: Mapping[Key, Entry], plan: planning.Plan, now: datetime.datetime
) -> dict[Key, Entry]:
    """The entries after a plan, before anything is applied: a Patch verdict is not here
    (the caller records it with ``patched`` once the write succeeded)."""
    entries = {k: e for k, e in previous.items() if e.state in KEPT}
    for verdict in plan.verdicts:
        key = verdict.workload
        if key is None:
            continue
        before = previous.get(key)
        match verdict.outcome:
            case planning.Outcome.DRY_RUN:
                entries[key] = _entry(key, state=State.DRY_RUN, verdict=verdict, changed_at=None)
            case planning.Outcome.BLOCKED:
                if before is not None and before.state in KEPT:
                    continue  # e.g. the cooldown after our own change: that entry says more
                entries[key] = _entry(
                    key,
                    state=State.BLOCKED,
                    verdict=verdict,
                    changed_at=before.changed_at if before else None,
                )
            case planning.Outcome.APPLIED:
                if before is None or before.state not in CHANGED:
                    # Patched, but the record was lost (status edited): verify it again.
                    entries[key] = _entry(
                        key, state=State.VERIFYING, verdict=verdict, changed_at=now
                    )
            case planning.Outcome.REVERTED_BY_OTHER:
                entries[key] = _entry(
                    key,
                    state=State.REVERTED_BY_OTHER,
                    verdict=verdict,
                    changed_at=before.changed_at if before else None,
                )
            case planning.Outcome.PATCH:
                pass
    return entries


def adopt(
    entries: Mapping[Key, Entry],
    *,
    workloads: Mapping[Key, Mapping[str, Any]],
    check: str,
    now: datetime.datetime,
) -> dict[Key, Entry]:
    """``entries`` plus a Verifying entry for each workload this check patched that has
    none: the operator died between the patch and the status write, and the workload's
    annotations (written in the same apply as the change) are then the only record."""
    found = dict(entries)
    for key, workload in workloads.items():
        annotations = hostnetwork.annotations_of(workload)
        if (
            key in found
            or annotations.get(hostnetwork.BY_ANNOTATION) != check
            or not hostnetwork.is_patched(workload)
        ):
            continue
        try:
            at = datetime.datetime.strptime(
                annotations.get(hostnetwork.AT_ANNOTATION, ""), "%Y-%m-%dT%H:%M:%SZ"
            ).replace(tzinfo=datetime.UTC)
        except ValueError:
            at = now
        found[key] = Entry(
            kind=str(key.kind),
            namespace=key.namespace,
            name=key.name,
            state=State.VERIFYING,
            reason=None,
            message=f"{key}: patched by this check (recorded on the workload); waiting for its"
            " new pods' probe results",
            pods=(),
            patch=None,
            original=annotations.get(hostnetwork.ORIGINAL_ANNOTATION),
            changed_at=at,
        )
    return found


def patched(verdict: planning.Verdict, *, now: datetime.datetime) -> tuple[Key, Entry]:
    key = verdict.workload
    assert key is not None
    return key, _entry(key, state=State.VERIFYING, verdict=verdict, changed_at=now)


def disrupted(verdict: planning.Verdict, *, error: str) -> tuple[Key, Entry]:
    """A PodDisruptionBudget forbids evicting the pods now: blocked, retried next run."""
    return _blocked(
        verdict,
        reason=model.Reason.DISRUPTION_BUDGET,
        message=f"{verdict.subject}: a PodDisruptionBudget forbids restarting its degraded"
        f" pod(s) now ({error})",
    )


def apply_failed(verdict: planning.Verdict, *, error: str) -> tuple[Key, Entry]:
    return _blocked(
        verdict,
        reason=model.Reason.APPLY_FAILED,
        message=f"{verdict.subject}: the patch was refused: {error}",
    )


def _blocked(verdict: planning.Verdict, *, reason: model.Reason, message: str) -> tuple[Key, Entry]:
    """An action on a workload the API refused: Blocked with why, nothing changed."""
    key = key_of_verdict(verdict)
    return key, _entry(
        key, state=State.BLOCKED, verdict=verdict, changed_at=None, reason=reason, message=message
    )


def verified(entry: Entry) -> Entry:
    return dataclasses.replace(
        entry,
        state=State.REMEDIATED,
        reason=str(model.Reason.VERIFIED),
        message=f"{key_of(entry)}: its pods on the node's network measure healthy"
        f" ({(entry.passing_runs or 0) + 1} run(s) in a row clearly below the threshold)",
        passing_runs=(entry.passing_runs or 0) + 1,
    )


def unverified(entry: Entry) -> Entry:
    """``verify: false``: the change is kept as it is, its new pods never judged."""
    return dataclasses.replace(
        entry,
        state=State.REMEDIATED,
        reason=str(model.Reason.VERIFICATION_OFF),
        message=f"{key_of(entry)} runs on the node's network; spec.remediation.verify is"
        " false: its new pods are not judged and the change is never reverted for them",
    )


def passed(entry: Entry, *, needed: int) -> Entry:
    """One more run in a row in which every new pod passed clearly; not yet verified."""
    runs = (entry.passing_runs or 0) + 1
    return dataclasses.replace(
        entry,
        passing_runs=runs,
        message=f"{key_of(entry)} runs on the node's network; its new pods passed {runs} of"
        f" the {needed} runs in a row that verify the change",
    )


def ineffective(
    entry: Entry, *, why: model.Reason, hint: str | None, now: datetime.datetime
) -> Entry:
    """Reverted: the change did not help (``hint``: the failing pod's top hint), or, for
    ``HALF_REVERTED``, another manager (``hint``: its name) set ``dnsPolicy`` back while
    ``hostNetwork`` stayed true, and both original values were restored."""
    restored = "reverted to the original settings"
    match why:
        case model.Reason.STILL_FAILING:
            detail = "its new pods on the node's network still fail"
        case model.Reason.RELAPSED:
            detail = "its new pods on the node's network measured healthy, then degraded again"
        case model.Reason.HALF_REVERTED:
            detail = (
                f"{hint or 'another manager'} set dnsPolicy back while hostNetwork stayed true"
                " (a hostNetwork pod with ClusterFirst cannot resolve Service names)"
            )
            restored = "restored both original values; not patched again within the cooldown"
            hint = None
        case _:
            detail = "no run verified its new pods in time"
    if hint:
        detail += f" ({hint})"
    return dataclasses.replace(
        entry,
        state=State.INEFFECTIVE,
        reason=str(why),
        message=f"{key_of(entry)}: {detail}; {restored}"[:1024],
        changed_at=now,
        passing_runs=None,
    )


def settle(
    entries: Mapping[Key, Entry],
    *,
    degraded_workloads: Iterable[Key],
    live: Mapping[Key, Mapping[str, object] | None],
    cooldown: datetime.timedelta,
    now: datetime.datetime,
) -> dict[Key, Entry]:
    """Drops what no longer matters: blocked/dry-run entries of workloads without degraded
    pods; changed ones whose workload is gone or no longer carries our change (reverted by
    a person with ``nethealth revert``); ineffective ones past their cooldown. ``live``
    holds the workloads read this run (None: not found); others are kept as they are."""
    degraded = set(degraded_workloads)
    kept = {}
    for key, entry in entries.items():
        if entry.state in (State.BLOCKED, State.DRY_RUN) and key not in degraded:
            continue
        if entry.state in IN_PLACE:
            if key not in live or live[key] is not None:
                kept[key] = entry  # the route lives as long as the pods: so does the record
            continue
        if key in live and entry.state in KEPT - {State.INEFFECTIVE, State.RESTARTED}:
            workload = live[key]
            if workload is None:
                continue
            if hostnetwork.ORIGINAL_ANNOTATION not in hostnetwork.annotations_of(workload):
                continue
        if (
            entry.state in (State.INEFFECTIVE, State.RESTARTED)
            and entry.changed_at is not None
            and now >= entry.changed_at + cooldown
            and key not in degraded
        ):
            continue
        kept[key] = entry
    return kept


def reverted_by(entry: Entry, *, manager: str) -> Entry:
    """Our change was changed back by another manager: said, and not fought."""
    return dataclasses.replace(
        entry,
        state=State.REVERTED_BY_OTHER,
        reason=str(model.Reason.REVERTED_BY_OTHER_MANAGER),
        message=planning.reverted_message(str(key_of(entry)), manager=manager),
    )


def key_of_verdict(verdict: planning.Verdict) -> Key:
    """The workload of a Patch or DryRun verdict (those always have one)."""
    if verdict.workload is None:
        raise ValueError(f"{verdict.subject}: not a workload")
    return verdict.workload


def record(
    entries: Mapping[Key, Entry],
    *,
    action: actions.Action,
    result: actions.Result,
    now: datetime.datetime,
) -> tuple[dict[Key, Entry], tuple[model.Notice, ...]]:
    """The entries after the loop carried out ``action``, and the Events it deserves. A
    restart or revert that failed changes nothing: the next run plans it again."""
    found = dict(entries)
    warning, normal = model.EventType.WARNING, model.EventType.NORMAL
    match action, result:
        case actions.Announce(notice=notice), _:
            return found, (notice,)
        case actions.Restart(verdict=verdict), actions.Done():
            key, entry = restarted(verdict, now=now)
            reason = model.EventReason.PODS_RESTARTED
            found[key] = entry
            return found, (_notice(normal, reason, entry.message, verdict.pods),)
        case actions.Cure(key=key, subject=subject, pods=pods), actions.Done(detail=detail):
            found[key] = cured(
                found.get(key), key=key, subject=subject, pods=pods, detail=detail, now=now
            )
            reason = model.EventReason.BROADCAST_ROUTE_ADDED
            return found, (_notice(normal, reason, found[key].message, found[key].pods),)
        case actions.Cure(key=key, subject=subject, pods=pods), actions.Failed(error=error):
            names = tuple(p.key for p in pods)
            found[key] = Entry(
                kind=str(key.kind),
                namespace=key.namespace,
                name=key.name,
                state=State.BLOCKED,
                reason=str(model.Reason.APPLY_FAILED),
                message=f"{subject}: adding the route {curejob.route()} failed, retried at the"
                f" next run: {error}"[:1024],
                pods=names[: model.MAX_POD_RESULTS],
                patch=inplace.patch_of(names)[:4096],
                original=None,
                changed_at=None,
            )
            reason = model.EventReason.REMEDIATION_APPLY_FAILED
            return found, (_notice(warning, reason, found[key].message, names),)
        case actions.Protect(key=key, why=why), actions.Done(detail=detail):
            found[key] = protected(
                found.get(key), key=key, pods=detail_pods(detail), why=why, now=now
            )
            reason = model.EventReason.BROADCAST_ROUTE_ADDED
            return found, (_notice(normal, reason, found[key].message, found[key].pods),)
        case actions.Restart(verdict=verdict), actions.Failed(error=error, status=429):
            key, entry = disrupted(verdict, error=error)
            found[key] = entry
            reason = model.EventReason.REMEDIATION_APPLY_FAILED
            return found, (_notice(warning, reason, entry.message, verdict.pods),)
        case actions.Patch(verdict=verdict), actions.Done():
            key, entry = patched(verdict, now=now)
            found[key] = entry
            kind = warning if verdict.warnings else normal
            reason = model.EventReason.HOST_NETWORK_APPLIED
            return found, (_notice(kind, reason, entry.message, verdict.pods),)
        case actions.Patch(verdict=verdict), actions.Failed(error=error):
            key, entry = apply_failed(verdict, error=error)
            found[key] = entry
            reason = model.EventReason.REMEDIATION_APPLY_FAILED
            return found, (_notice(warning, reason, entry.message, verdict.pods),)
        case actions.Revert(key=key, entry=entry, why=why, hint=hint, pods=pods), actions.Done():
            found[key] = ineffective(entry, why=why, hint=hint, now=now)
            reason = (
                model.EventReason.REMEDIATION_REVERTED
                if why is model.Reason.HALF_REVERTED
                else model.EventReason.REMEDIATION_INEFFECTIVE
            )
            return found, (_notice(warning, reason, found[key].message, pods),)
        case actions.Revert(key=key, entry=entry), actions.Failed(error=error):
            # Said in status, and tried again at the next run; never guessed around.
            found[key] = dataclasses.replace(
                entry, message=f"{key}: the revert failed, retried at the next run: {error}"[:1024]
            )
            return found, ()
    return found, ()


def cured(
    before: Entry | None,
    *,
    key: Key,
    subject: str,
    pods: tuple[selection.PodRef, ...],
    detail: str | None,
    now: datetime.datetime,
) -> Entry:
    """The route is in the pods' namespaces: verified with the next runs. Pods cured
    earlier (a workload whose new pod got it too) stay listed."""
    names = tuple(p.key for p in pods)
    if before is not None and before.state in IN_PLACE:
        names = tuple(dict.fromkeys([*before.pods, *names]))
    return Entry(
        kind=str(key.kind),
        namespace=key.namespace,
        name=key.name,
        state=State.CURED_IN_PLACE,
        reason=str(model.Reason.VERIFYING),
        message=inplace.cured_message(subject, names, results=detail or "")[:1024],
        pods=names[: model.MAX_POD_RESULTS],
        patch=inplace.patch_of(names)[:4096],
        original=None,
        changed_at=now,
        passing_runs=0,
    )


def protected(
    before: Entry | None,
    *,
    key: Key,
    pods: Sequence[str],
    why: str,
    now: datetime.datetime,
) -> Entry:
    """The workload's record after the route went into ``pods`` (the ones before kept)."""
    names = tuple(pods)
    if before is not None and before.state in IN_PLACE:
        names = tuple(dict.fromkeys([*before.pods, *names]))
    return Entry(
        kind=str(key.kind),
        namespace=key.namespace,
        name=key.name,
        state=model.WorkloadState.PROTECTED,
        reason=None,
        message=f"{key}: the route {curejob.route()} is in the network namespace of pod(s)"
        f" {', '.join(names)} ({why})"[:1024],
        pods=names[: model.MAX_POD_RESULTS],
        patch=inplace.patch_of(names)[:4096],
        original=None,
        changed_at=now,
    )


def cure_dry_run(key: Key, *, subject: str, pods: tuple[str, ...]) -> Entry:
    return Entry(
        kind=str(key.kind),
        namespace=key.namespace,
        name=key.name,
        state=State.DRY_RUN,
        reason=str(model.Reason.DRY_RUN),
        message=inplace.dry_run_message(subject, pods)[:1024],
        pods=pods[: model.MAX_POD_RESULTS],
        patch=inplace.patch_of(pods)[:4096],
        original=None,
        changed_at=None,
    )


def cure_judged(entry: Entry, *, result: str, needed: int) -> Entry:
    """The next runs' word on the cured pods (``verification.Result``)."""
    runs = (entry.passing_runs or 0) + 1
    route = curejob.route()
    pods = ", ".join(entry.pods)
    match result:
        case "Verified":
            reason, runs_kept = model.Reason.VERIFIED, runs
            text = f"{key_of(entry)}: with {route}, its pod(s) {pods} measure healthy ({runs}"
            text += " run(s) in a row clearly below the threshold)"
        case "Passed":
            reason, runs_kept = model.Reason.VERIFYING, runs
            text = f"{key_of(entry)}: with {route}, its pod(s) {pods} passed {runs} of the"
            text += f" {needed} runs in a row that verify the cure"
        case "StillFailing" | "NotVerifiedInTime":
            reason, runs_kept = model.Reason(result), 0
            text = f"{key_of(entry)}: the route {route} did not hold for pod(s) {pods}"
            text += " (still failing)" if result == "StillFailing" else " (not verified in time)"
            text += "; hostNetwork next"
        case _:
            return entry
    return dataclasses.replace(
        entry, reason=str(reason), message=text[:1024], passing_runs=runs_kept
    )


def detail_pods(detail: str | None) -> tuple[str, ...]:
    """The pods a Protect reached, from its ``Done.detail`` ("ns/pod: added, ...")."""
    return tuple(part.split(": ", 1)[0] for part in (detail or "").split(", ") if part)


def _notice(
    type: model.EventType, reason: model.EventReason, message: str, pods: tuple[str, ...]
) -> model.Notice:
    return model.Notice(type=type, reason=reason, message=message, pods=pods)
