"""Every hint rule, and the ranking of what they say: best score first, each hint once.

The order of `RULES` is part of the output: the sort is stable, so among hints with the
same score the earlier rule's comes first. Append new rules where their tie-breaking
belongs, not at random.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from nethealth.probe import types
from nethealth.probe.hints import context, dns, kernelbug, paths, refusals, senders, timing

RULES: Final[tuple[context.HintRule, ...]] = (
    kernelbug.broadcast_route_cache,
    refusals.policy_rules,
    refusals.refusing_routes,
    paths.missing_default_route,
    paths.gateway_neighbour_failed,
    paths.filtered,
    dns.unresolved_names,
    paths.path_errors,
    timing.per_cpu_failures,
    senders.broadcast_senders,
    timing.bursty_failures,
    refusals.unexplained_local_refusals,
)


def rank(ctx: context.Context) -> tuple[types.Hint, ...]:
    """The hints of all rules, best score first; a repeated (code, evidence) only once.

    When the run's class is a fault, each hint's evidence starts with the targets it is
    about (``api, db: ...``), as the reason does: a person reading one hint in an Event
    learns which destination fails."""
    scored: list[context.Scored] = []
    for rule in RULES:
        scored.extend(rule(ctx))
    scored.sort(key=lambda item: -item[0])  # stable: rule order breaks ties
    seen: set[tuple[str, str]] = set()
    hints: list[types.Hint] = []
    named = f"{', '.join(ctx.at_fault)}: " if ctx.at_fault else ""
    for _, hint in scored:
        if (hint.code, hint.evidence) not in seen:
            seen.add((hint.code, hint.evidence))
            hints.append(dataclasses.replace(hint, evidence=named + hint.evidence))
    return tuple(hints)
