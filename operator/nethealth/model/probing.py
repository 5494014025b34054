"""How the probe measures (``spec.probe``) and when a run fails (``spec.threshold``).

Failures in real incidents come in blocks of seconds, so the attempts of a run are spread
over a window (``spread``) that must fit in the interval; the Job's deadline must cover
the window plus one connect timeout. A run whose pod looks bad but is not failing yet
measures on, window after window, up to ``windows`` (``probe.windows`` says when): as many
as fit within the deadline (`windows_within`), so that a run always finishes in time
and a check written before the field existed stays valid.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from typing import Final

from nethealth import schema


@dataclasses.dataclass(frozen=True, kw_only=True)
class Quantities:
    cpu: str | None
    memory: str | None
    ephemeral_storage: str | None


QUANTITIES = schema.Obj(
    cls=Quantities,
    props={
        "cpu": schema.Prop(node=schema.Quantity()),
        "memory": schema.Prop(node=schema.Quantity()),
        "ephemeral_storage": schema.Prop(node=schema.Quantity(), json_name="ephemeral-storage"),
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resources:
    requests: Quantities | None
    limits: Quantities | None


RESOURCES = schema.Obj(
    cls=Resources,
    description="Requests and limits of the probe container.",
    props={"requests": schema.Prop(node=QUANTITIES), "limits": schema.Prop(node=QUANTITIES)},
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Probe:
    interval: datetime.timedelta
    attempts: int
    spread: datetime.timedelta
    timeout: datetime.timedelta
    deadline: datetime.timedelta
    image: str | None
    resources: Resources | None
    windows: int = 3


# What a run needs besides its windows: the probe pod started, the pod's names resolved
# with its own resolver, evidence gathered and the result written.
RUN_RESERVE: Final = datetime.timedelta(seconds=20)


def windows_within(probe: Probe) -> int:
    """How many windows of ``spread`` a run may measure: ``windows``, but no more than fit
    in ``deadline`` after one connect timeout and `RUN_RESERVE` (at least one)."""
    room = probe.deadline - probe.timeout - RUN_RESERVE
    return max(1, min(probe.windows, int(room / probe.spread)))


def _duration_rule(
    *, left: str, op: str, right: str, message: str, check: Callable[[Probe], bool]
) -> schema.Rule[Probe]:
    """A rule comparing duration fields; skipped while one is malformed (its own rule says so)."""
    fields = [f for f in re.findall(r"[a-z][A-Za-z]*", f"{left} {right}")]
    guards = " || ".join(f"!self.{f}.matches(r'{schema.DURATION_PATTERN}')" for f in fields)
    return schema.Rule(
        cel=f"{guards} || {_cel_duration_sum(left)} {op} {_cel_duration_sum(right)}",
        message=message,
        field_path=f".{fields[0]}",
        check=check,
    )


def _cel_duration_sum(expr: str) -> str:
    return " + ".join(f"duration(self.{name.strip()})" for name in expr.split("+"))


PROBE = schema.Obj(
    cls=Probe,
    default={},
    description="When and how the probe Job measures.",
    props={
        "interval": schema.Prop(
            node=schema.Duration(
                default="5m",
                minimum="30s",
                maximum="24h",
                description="Time between probe runs.",
            )
        ),
        "attempts": schema.Prop(
            node=schema.Int(
                default=60,
                minimum=1,
                maximum=600,
                description="connect() attempts per target in one run.",
            )
        ),
        "spread": schema.Prop(
            node=schema.Duration(
                default="30s",
                minimum="1s",
                maximum="30m",
                description="The attempts are spread over this window: failures come in "
                "blocks of seconds, so samples must span time.",
            )
        ),
        "timeout": schema.Prop(
            node=schema.Duration(
                default="2s", minimum="100ms", maximum="30s", description="Per connect()."
            )
        ),
        "deadline": schema.Prop(
            node=schema.Duration(
                default="2m",
                minimum="10s",
                maximum="1h",
                description="The probe Job's activeDeadlineSeconds.",
            )
        ),
        "windows": schema.Prop(
            node=schema.Int(
                default=3,
                minimum=1,
                maximum=10,
                description="A run whose pod fails clearly more than noise, but not more than "
                "threshold.failureRate, while a fresh pod and the node do not fail, measures "
                "another window of spread, up to this many (as many as fit within deadline, "
                "with 20s for the rest of the run); the pooled counts are judged. 1: one "
                "window.",
            )
        ),
        "image": schema.Prop(
            node=schema.Str(
                description="Probe image; default: the operator's own image.",
                max_length=512,
                min_length=1,
                pattern=r"^[^\s]+$",
                hint="an image reference without spaces",
            )
        ),
        "resources": schema.Prop(node=RESOURCES),
    },
    rules=(
        _duration_rule(
            left="spread",
            op="<",
            right="interval",
            message="spread must be shorter than interval",
            check=lambda p: p.spread < p.interval,
        ),
        _duration_rule(
            left="deadline",
            op=">",
            right="spread + timeout",
            message="deadline must be longer than spread plus timeout",
            check=lambda p: p.deadline > p.spread + p.timeout,
        ),
    ),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Threshold:
    failure_rate: float
    min_samples: int
    consecutive_runs: int
    recovery_runs: int


THRESHOLD = schema.Obj(
    cls=Threshold,
    default={},
    description="When a pod counts as degraded, and when as recovered.",
    props={
        "failure_rate": schema.Prop(
            node=schema.Number(
                default=0.2,
                minimum=0,
                maximum=1,
                exclusive_minimum=True,
                exclusive_maximum=True,
                description="A run fails when more than this share of its connects fail.",
            )
        ),
        "min_samples": schema.Prop(
            node=schema.Int(
                default=20,
                minimum=1,
                maximum=10000,
                description="A run with fewer measured connects is inconclusive.",
            )
        ),
        "consecutive_runs": schema.Prop(
            node=schema.Int(
                default=2, minimum=1, maximum=100, description="Failing runs before Degraded."
            )
        ),
        "recovery_runs": schema.Prop(
            node=schema.Int(
                default=3,
                minimum=1,
                maximum=100,
                description="Passing runs before a degraded pod counts as healthy again.",
            )
        ),
    },
)
