"""Pure: NetHealthChecks and their pods as one table, read from the checks' status.

One row per pod the check reports (its status lists them worst first), so a degraded pod
is at the top of its check; a check without pods still gets a row, saying why (no run
yet, nothing selected). Ages are relative to ``now``, as ``kubectl get`` shows them.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.probe import shorten

RawCheck = Mapping[str, Any]

HINT_WIDTH: Final = 60
COLUMNS: Final = (
    "CHECK",
    "READY",
    "DEGRADED",
    "POD",
    "STATE",
    "CLASS",
    "FAILURES",
    "LAST RUN",
    "HINT",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Row:
    namespace: str
    check: str
    ready: str
    degraded: str
    pod: str
    state: str
    klass: str
    failures: str
    last_run: str
    hint: str

    def cells(self, *, with_namespace: bool) -> list[str]:
        cells = [
            self.check,
            self.ready,
            self.degraded,
            self.pod,
            self.state,
            self.klass,
            self.failures,
            self.last_run,
            self.hint,
        ]
        return [self.namespace, *cells] if with_namespace else cells


def rows(checks: Sequence[RawCheck], *, now: datetime.datetime) -> list[Row]:
    """Checks by namespace and name; pods in their status order (worst first)."""
    made: list[Row] = []
    for check in sorted(checks, key=_check_key):
        meta, status = check.get("metadata") or {}, check.get("status") or {}
        ready = _condition(status, "Ready")
        degraded = _condition(status, "Degraded")
        common = {
            "namespace": str(meta.get("namespace", "")),
            "check": str(meta.get("name", "")),
            "ready": str(ready.get("status", "-")),
            "degraded": str(degraded.get("status", "-")),
        }
        pods = status.get("pods") or []
        if not pods:
            why = str(ready.get("reason") or ("NotRunYet" if not status else "-"))
            made.append(
                Row(
                    **common,
                    pod="-",
                    state="-",
                    klass="-",
                    failures="-",
                    last_run=age(status.get("lastRunTime"), now=now),
                    hint=_cut(f"{why}: {ready.get('message', '')}".rstrip(": ")),
                )
            )
        for pod in pods:
            name = str(pod.get("name", ""))
            if pod.get("namespace") and pod["namespace"] != common["namespace"]:
                name = f"{pod['namespace']}/{name}"  # a namespaceSelector's pod
            made.append(
                Row(
                    **common,
                    pod=name,
                    state=str(pod.get("state") or "-"),
                    klass=str(pod.get("class") or "-"),
                    failures=_rate(pod.get("failureRate"), pod.get("samples")),
                    last_run=age(pod.get("lastRun") or status.get("lastRunTime"), now=now),
                    hint=_cut(str(pod.get("hint") or "")) or "-",
                )
            )
    return made


def render(made: Sequence[Row], *, with_namespace: bool) -> str:
    """Columns padded to their widest cell, as ``kubectl get`` prints them."""
    header = ["NAMESPACE", *COLUMNS] if with_namespace else list(COLUMNS)
    body = [row.cells(with_namespace=with_namespace) for row in made]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _check_key(check: RawCheck) -> tuple[str, str]:
    meta = check.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    conditions = status.get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), {})


def _rate(rate: object, samples: object) -> str:
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        return "-"
    shown = f"{100 * rate:.0f}%"
    return f"{shown} of {samples}" if isinstance(samples, int) and samples else shown


def _cut(text: str) -> str:
    return shorten.chars(" ".join(text.split()), limit=HINT_WIDTH)


def age(timestamp: object, *, now: datetime.datetime) -> str:
    """``2026-01-01T12:00:00Z`` as an age like kubectl's: ``45s``, ``3m``, ``2h``, ``4d``."""
    if not isinstance(timestamp, str) or not timestamp:
        return "-"
    try:
        moment = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
