"""The ``status`` the operator writes: conditions, per-pod results (bounded), summary
counts, run times, and kopf's own bookkeeping (kept in status, not in annotations, so that
a check applied by Argo CD stays in sync).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any

from nethealth import schema
from nethealth.model.conditions import CONDITION, Condition
from nethealth.probe import types


class PodState(enum.StrEnum):
    UNKNOWN = "Unknown"  # no result yet: never assumed healthy
    HEALTHY = "Healthy"
    SUSPECT = "Suspect"  # failing runs, fewer than threshold.consecutiveRuns
    DEGRADED = "Degraded"
    RECOVERING = "Recovering"  # passing runs, fewer than threshold.recoveryRuns
    INCONCLUSIVE = "Inconclusive"  # the probe could not measure; never counted as a failure
    REMEDIATED = "Remediated"  # its workload was moved to the node's network and verified


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodResult:
    name: str
    namespace: str | None  # set when a namespaceSelector spans namespaces
    node: str | None
    state: PodState
    klass: types.ProbeClass | None
    failure_rate: float | None
    samples: int | None
    hint: str | None
    last_run: datetime.datetime | None
    window: datetime.timedelta | None = None


POD_RESULT = schema.Obj(
    cls=PodResult,
    props={
        "name": schema.Prop(required=True, node=schema.Str(max_length=253)),
        "namespace": schema.Prop(node=schema.Str(max_length=63)),
        "node": schema.Prop(node=schema.Str(max_length=253)),
        "state": schema.Prop(required=True, node=schema.Choice(choices=PodState)),
        "klass": schema.Prop(
            json_name="class",
            node=schema.Choice(
                choices=types.ProbeClass,
                description="Where the fault lies: which namespaces (pod, fresh pod, node) fail.",
            ),
        ),
        "failure_rate": schema.Prop(
            node=schema.Number(
                minimum=0, maximum=1, description="Share of failed connects in the last run."
            )
        ),
        "samples": schema.Prop(
            node=schema.Int(
                minimum=0, maximum=1_000_000, description="Connects measured in the last run."
            )
        ),
        "hint": schema.Prop(
            node=schema.Str(max_length=1024, description="The probe's top explanation.")
        ),
        "last_run": schema.Prop(node=schema.Timestamp()),
        "window": schema.Prop(
            node=schema.Duration(
                minimum="0s",
                maximum="24h",
                description="How long the last run measured: spread, or longer when the pod "
                "looked bad but was not failing yet (spec.probe.windows).",
            )
        ),
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary:
    selected: int
    healthy: int
    suspect: int
    degraded: int
    remediated: int
    inconclusive: int


def _count() -> schema.Prop:
    return schema.Prop(required=True, node=schema.Int(minimum=0, maximum=1_000_000))


SUMMARY = schema.Obj(
    cls=Summary,
    description="Selected pods by state.",
    props={name: _count() for name in [f.name for f in dataclasses.fields(Summary)]},
)

MAX_POD_RESULTS = 100
MAX_WORKLOAD_RESULTS = 100  # room for every change a check may make (maxRemediatedPods <= 100)


class WorkloadState(enum.StrEnum):
    """Where a workload stands in the remediation loop (``status.remediation``)."""

    DRY_RUN = "DryRun"  # the patch Auto would apply, published only
    BLOCKED = "Blocked"  # a preflight or a limit says no; the reason names it
    RESTARTED = "Restarted"  # RestartThenHostNetwork: pods restarted; hostNetwork if again
    CURED_IN_PLACE = "CuredInPlace"  # the broadcast route added in its pods' namespaces
    PROTECTED = "Protected"  # prevention: the broadcast route added before any failure
    VERIFYING = "Verifying"  # patched; waiting for its new pods' probe results
    REMEDIATED = "Remediated"  # patched, and the new pods measured healthy
    INEFFECTIVE = "Ineffective"  # patched, still failing: reverted
    REVERTED_BY_OTHER = "RevertedByOtherManager"  # changed back by someone else: not fought


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkloadResult:
    kind: str
    namespace: str
    name: str
    state: WorkloadState
    reason: str | None
    message: str
    pods: tuple[str, ...]
    patch: str | None  # the exact server-side apply body, as JSON
    original: str | None  # the recorded originals, as JSON
    changed_at: datetime.datetime | None  # when this operator last patched or reverted it
    passing_runs: int | None = None  # Verifying: runs in a row its new pods passed clearly


WORKLOAD_RESULT = schema.Obj(
    cls=WorkloadResult,
    props={
        "kind": schema.Prop(required=True, node=schema.Str(max_length=32)),
        "namespace": schema.Prop(required=True, node=schema.Str(max_length=63)),
        "name": schema.Prop(required=True, node=schema.Str(max_length=253)),
        "state": schema.Prop(required=True, node=schema.Choice(choices=WorkloadState)),
        "reason": schema.Prop(node=schema.Str(max_length=64)),
        "message": schema.Prop(required=True, node=schema.Str(max_length=1024)),
        "pods": schema.Prop(
            missing=(),
            node=schema.List(
                item=schema.Str(max_length=317),
                max_items=MAX_POD_RESULTS,
                description="Its degraded pods (namespace/name) when it was judged.",
            ),
        ),
        "patch": schema.Prop(
            node=schema.Str(
                max_length=4096,
                description="The server-side apply body (JSON) applied, or for DryRun to apply.",
            )
        ),
        "original": schema.Prop(
            node=schema.Str(
                max_length=256, description="The pod template's values before the patch (JSON)."
            )
        ),
        "changed_at": schema.Prop(
            node=schema.Timestamp(description="When the operator last patched or reverted it.")
        ),
        "passing_runs": schema.Prop(
            node=schema.Int(
                minimum=0,
                maximum=1000,
                description="While Verifying: runs in a row in which every new pod passed"
                " clearly below the threshold; verified at threshold.recoveryRuns.",
            )
        ),
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Status:
    observed_generation: int | None
    conditions: tuple[Condition, ...]
    pods: tuple[PodResult, ...]
    summary: Summary | None
    last_run_time: datetime.datetime | None
    next_run_time: datetime.datetime | None
    remediation: tuple[WorkloadResult, ...]
    kopf: Mapping[str, Any] | None


STATUS = schema.Obj(
    cls=Status,
    description="Written by the operator only.",
    props={
        "observed_generation": schema.Prop(
            node=schema.Int(minimum=0, description="The spec generation this status is about.")
        ),
        "conditions": schema.Prop(
            missing=(),
            node=schema.List(
                description="Ready, Degraded and the remediation conditions.",
                item=CONDITION,
                max_items=16,
                list_type="map",
                map_keys=("type",),
            ),
        ),
        "pods": schema.Prop(
            missing=(),
            node=schema.List(
                item=POD_RESULT,
                max_items=MAX_POD_RESULTS,
                description=f"Per-pod results, worst first, at most {MAX_POD_RESULTS}.",
            ),
        ),
        "summary": schema.Prop(node=SUMMARY),
        "last_run_time": schema.Prop(
            node=schema.Timestamp(description="When the last probe run finished.")
        ),
        "next_run_time": schema.Prop(
            node=schema.Timestamp(description="When the next probe run is due.")
        ),
        "remediation": schema.Prop(
            missing=(),
            node=schema.List(
                item=WORKLOAD_RESULT,
                max_items=MAX_WORKLOAD_RESULTS,
                description="The workloads of degraded pods: what was done about each, or why not.",
            ),
        ),
        "kopf": schema.Prop(
            node=schema.Unchecked(description="kopf's progress and diff-base (not annotations).")
        ),
    },
)

EMPTY_STATUS = STATUS.load({}, path="status", field="status")
