"""Evidence taken while the fault is present, not only after the window.

The seed's fault came and went in blocks of seconds, and so do the test faults (a rule
toggled every few seconds): evidence gathered once, after the measurement, may well
catch the namespace in a good moment and show nothing. So a sampler child sits in the
target namespace during the window and gathers evidence a few times; afterwards the
sample that shows the most refusing state (refusing rules and routes, lookups that fail
or come back broadcast) is kept, with the counters of the final gathering (deltas over
the whole window).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.probe import evidence, types

REFUSING_ACTIONS: Final = frozenset({"unreachable", "prohibit", "blackhole"})
REFUSING_ROUTES: Final = frozenset({"broadcast", "blackhole", "unreachable", "prohibit"})
MIN_INTERVAL: Final = 1.0
MAX_SAMPLES: Final = 8


def interval(spread: float) -> float:
    """Seconds between samples: up to `MAX_SAMPLES` over the window, at least 1 s apart."""
    return max(MIN_INTERVAL, spread / MAX_SAMPLES)


def sample(
    endpoints: Sequence[types.Endpoint],
    counters_before: Mapping[str, int],
    start_at: float,
    until: float,
    every: float,
) -> list[dict[str, Any]]:
    """Gather evidence every ``every`` seconds from mid-interval until ``until`` (monotonic).

    Runs inside the target namespace (through `netns.spawn`); returns JSON documents,
    each with ``"at"``: seconds since ``start_at``.
    """
    found: list[dict[str, Any]] = []
    due = start_at + every / 2
    while due < until and len(found) < MAX_SAMPLES:
        time.sleep(max(0.0, due - time.monotonic()))
        document = evidence.gather(endpoints, counters_before)
        document["at"] = round(time.monotonic() - start_at, 3)
        found.append(document)
        due += every
    return found


def refusing(found: types.Evidence) -> int:
    """How much refusing state a piece of evidence shows (0: none)."""
    return (
        sum(1 for rule in found.rules if rule.action in REFUSING_ACTIONS)
        + sum(1 for route in found.routes if route.type in REFUSING_ROUTES)
        + sum(1 for look in found.lookups if look.errno or look.broadcast_flagged)
    )


def choose(
    *, final: types.Evidence, samples: Sequence[tuple[float, types.Evidence]]
) -> types.Evidence:
    """The final evidence, unless a sample taken during the window shows more refusal.

    A chosen sample keeps the final counters (their deltas cover the whole window) and
    says when it was taken.
    """
    best_at, best = None, final
    for at, candidate in samples:
        if refusing(candidate) > refusing(best):
            best_at, best = at, candidate
    if best_at is None:
        return final
    note = (
        f"rules, routes and lookups are from a sample taken {best_at:.1f} s into the window,"
        " while they showed more refusing state than after it"
    )
    return dataclasses.replace(
        best,
        counters=final.counters,
        notes=(*final.notes, note),
        errors=tuple(dict.fromkeys((*best.errors, *final.errors))),
    )
