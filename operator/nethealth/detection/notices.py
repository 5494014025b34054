"""Pure: the Events a run deserves, on the check and on the affected Pod.

Events mark changes a person should hear about, not every run: a pod entering
``Degraded`` (``PodNetworkDegraded``, with rate, class and top hint), leaving it
(``PodNetworkRecovered``), and the first of a series of inconclusive runs
(``ProbeInconclusive``, with the reason), so that a broken probe is visible without
flooding the namespace at every interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from nethealth import model
from nethealth.detection import decision, results
from nethealth.probe import shorten

PodState = model.PodState


Notice = model.Notice
Reason = model.EventReason
WARNING: Final = model.EventType.WARNING
NORMAL: Final = model.EventType.NORMAL


def notices(
    *,
    records: Mapping[str, decision.PodRecord],
    outcomes: Mapping[str, results.Outcome],
) -> list[Notice]:
    """The Events of one run, pods in name order."""
    found = []
    for key in sorted(records):
        record, outcome = records[key], outcomes.get(key)
        hint = f"; top hint {outcome.hint}" if outcome is not None and outcome.hint else ""
        if record.entered(PodState.DEGRADED):
            message = f"pod {key}: class {record.klass}, {_rate(record)}{hint}"
            found.append(
                Notice(type=WARNING, reason=Reason.POD_DEGRADED, message=message, pods=(key,))
            )
        elif record.entered(PodState.HEALTHY) and record.previous_state is PodState.RECOVERING:
            message = f"pod {key} recovered: {_rate(record)}"
            found.append(
                Notice(type=NORMAL, reason=Reason.POD_RECOVERED, message=message, pods=(key,))
            )
        elif record.verdict is decision.RunVerdict.INCONCLUSIVE and record.inconclusive_runs == 1:
            reason = outcome.run.reason if outcome is not None else record.message
            message = f"pod {key}: probe run inconclusive, not counted: {reason}"
            found.append(
                Notice(
                    type=WARNING,
                    reason=Reason.PROBE_INCONCLUSIVE,
                    message=shorten.chars(message, limit=1000),
                    pods=(key,),
                )
            )
    return found


def _rate(record: decision.PodRecord) -> str:
    if record.estimate is None:
        return "no measurement"
    return f"{record.estimate.rate * 100:.0f} % of {record.samples} connects failed"
