"""What to do about a degraded pod (``spec.remediation``): mode, strategy and their limits."""

from __future__ import annotations

import dataclasses
import datetime
import enum

from nethealth import schema


class RemediationMode(enum.StrEnum):
    OFF = "Off"  # detect and report only
    DRY_RUN = "DryRun"  # publish the exact patch in status and an Event, change nothing
    AUTO = "Auto"  # patch the workload


class RemediationStrategy(enum.StrEnum):
    HOST_NETWORK = "HostNetwork"  # switch the workload to the node's network namespace
    RESTART_THEN_HOST_NETWORK = "RestartThenHostNetwork"  # restart first; hostNetwork if again
    # For the kernel's broadcast-route-cache bug: a route in the pod's own namespace first
    # (no workload change); hostNetwork if it does not hold. Any other fault: hostNetwork.
    IN_PLACE_THEN_HOST_NETWORK = "InPlaceThenHostNetwork"


class Prevention(enum.StrEnum):
    """Whether the broadcast route goes into every selected pod before anything fails."""

    OFF = "Off"
    AFFECTED_KERNELS = "AffectedKernels"  # on nodes whose kernel the table places in range
    ALWAYS = "Always"  # on every node (kernels the table cannot place: vendor ABI names)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Remediation:
    mode: RemediationMode
    strategy: RemediationStrategy
    cooldown: datetime.timedelta
    max_remediated_pods: int
    revert_on_delete: bool
    verify: bool
    pause_requests: tuple[str, ...]
    prevention: Prevention = Prevention.OFF


REMEDIATION = schema.Obj(
    cls=Remediation,
    default={},
    description="What to do about a degraded pod.",
    props={
        "mode": schema.Prop(
            node=schema.Choice(
                choices=RemediationMode,
                default=RemediationMode.DRY_RUN.value,
                description="Off: detect only. DryRun: publish the planned patch in status and "
                "an Event. Auto: patch the workload.",
            )
        ),
        "strategy": schema.Prop(
            node=schema.Choice(
                choices=RemediationStrategy,
                default=RemediationStrategy.IN_PLACE_THEN_HOST_NETWORK.value,
                description="HostNetwork: move the workload to the node's network namespace. "
                "RestartThenHostNetwork: restart the pod first; hostNetwork if it degrades again. "
                "InPlaceThenHostNetwork: when the probe shows the kernel's broadcast-route-cache "
                "bug at work, add the route 255.255.255.255/32 dev eth0 in the pod's own "
                "namespace (no workload change); hostNetwork if it does not hold, and for any "
                "other fault.",
            )
        ),
        "cooldown": schema.Prop(
            node=schema.Duration(
                default="1h",
                minimum="0s",
                maximum="168h",
                description="Minimum time between two remediations of one workload.",
            )
        ),
        "max_remediated_pods": schema.Prop(
            node=schema.Int(
                default=1,
                minimum=1,
                maximum=100,
                description="Pods of this check remediated at the same time, at most.",
            )
        ),
        "revert_on_delete": schema.Prop(
            node=schema.Bool(
                default=True,
                description="Restore the workloads' original settings when the check is deleted.",
            )
        ),
        "verify": schema.Prop(
            node=schema.Bool(
                default=True,
                description="Probe the new pods after the change and revert it if they still"
                " fail (or relapse later). False: keep the change without judging it.",
            )
        ),
        "prevention": schema.Prop(
            node=schema.Choice(
                choices=Prevention,
                default=Prevention.OFF.value,
                description="With mode Auto, add the route 255.255.255.255/32 dev eth0 to every "
                "selected IPv4 pod of a workload as soon as a run sees it, before the kernel's "
                "broadcast-route-cache bug can break it. AffectedKernels: on nodes whose "
                "kernelVersion is in the known-bad range. Always: on every node. Removed when "
                "the check is deleted.",
            )
        ),
        "pause_requests": schema.Prop(
            missing=(),
            node=schema.List(
                description="Reasons to pause: while any is listed, nothing new is remediated.",
                max_items=16,
                list_type="set",
                item=schema.Str(max_length=256, min_length=1),
            ),
        ),
    },
)
