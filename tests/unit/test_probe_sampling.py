"""Evidence sampled during the window wins over the final one when it shows the fault."""

from __future__ import annotations

import errno
import socket

from nethealth.probe import sampling, types

RULE = types.PolicyRule(
    family=socket.AF_INET, priority=100, action="unreachable", selectors=("ipproto 6", "dport 80")
)
REFUSED = types.RouteLookup(
    target="t", address="198.51.100.7", kind="flow", cpu=0, type="", errno=errno.ENETUNREACH
)
CLEAN = types.RouteLookup(target="t", address="198.51.100.7", kind="plain", cpu=0, type="unicast")


def test_the_final_evidence_is_kept_when_no_sample_shows_more():
    final = types.Evidence(lookups=(CLEAN,), counters={"IpOutNoRoutes": 0})
    samples = [(0.5, types.Evidence(lookups=(CLEAN,)))]
    assert sampling.choose(final=final, samples=samples) is final


def test_a_sample_taken_while_the_rule_was_present_is_chosen_with_the_final_counters():
    final = types.Evidence(lookups=(CLEAN,), counters={"IpOutNoRoutes": 30}, notes=("n",))
    during = types.Evidence(rules=(RULE,), lookups=(CLEAN, REFUSED), counters={"IpOutNoRoutes": 4})
    chosen = sampling.choose(final=final, samples=[(0.5, final), (1.5, during)])
    assert chosen.rules == (RULE,)
    assert chosen.lookups == (CLEAN, REFUSED)
    assert chosen.counters == {"IpOutNoRoutes": 30}
    assert chosen.notes[0] == "n"
    assert "1.5 s into the window" in chosen.notes[-1]


def test_the_sample_with_the_most_refusing_state_wins():
    final = types.Evidence()
    some = types.Evidence(rules=(RULE,))
    more = types.Evidence(rules=(RULE,), lookups=(REFUSED,))
    assert sampling.choose(
        final=final, samples=[(1.0, some), (2.0, more), (3.0, some)]
    ).lookups == (REFUSED,)


def test_broadcast_flagged_lookups_and_refusing_routes_count_as_refusal():
    poisoned = types.RouteLookup(
        target="t",
        address="198.51.100.7",
        kind="plain",
        cpu=0,
        type="broadcast",
        flags=types.RTCF_BROADCAST | types.RTCF_LOCAL,
    )
    entry = types.RouteEntry(
        family=socket.AF_INET, table=255, type="broadcast", dst="198.51.100.7/32"
    )
    assert sampling.refusing(types.Evidence(lookups=(poisoned,), routes=(entry,))) == 2
    assert sampling.refusing(types.Evidence(lookups=(CLEAN,))) == 0


def test_samples_are_spread_over_the_window_at_most_eight_and_a_second_apart():
    assert sampling.interval(30.0) == 3.75
    assert sampling.interval(3.0) == 1.0
