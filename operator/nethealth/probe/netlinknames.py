"""The kernel's numbers in netlink answers, named the way `ip` prints them.

Route lookups and route dumps both name route types, so the tables live here rather
than in either reader; the names are what `types.RouteLookup.type`,
`types.RouteEntry.type`, `types.PolicyRule.action` and `types.Neighbour.state` hold.
"""

from __future__ import annotations

from typing import Final

# rtm_type values (linux/rtnetlink.h)
ROUTE_TYPES: Final = {
    0: "unspec", 1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
    6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve",
}  # fmt: skip
# fib rule actions (linux/fib_rules.h)
RULE_ACTIONS: Final = {
    0: "unspec", 1: "lookup", 2: "goto", 3: "nop", 6: "blackhole", 7: "unreachable",
    8: "prohibit",
}  # fmt: skip
# Neighbour states (linux/neighbour.h)
NUD_STATES: Final = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
    0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}  # fmt: skip
