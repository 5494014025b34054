"""Policy routing rules of the namespace (`ip rule`), other than the defaults.

A rule can refuse traffic outright (unreachable, prohibit, blackhole) and, with
selectors such as ``ipproto tcp dport N``, only for some flows; the rule's text is
rebuilt the way `ip rule` prints it so that a person can find and delete it.
"""

from __future__ import annotations

import socket
from typing import Any, Final

from pyroute2 import IPRoute

from nethealth.probe import netlinknames, types

DEFAULT_RULE_PRIORITIES: Final = frozenset({0, 32766, 32767})


def non_default() -> list[types.PolicyRule]:
    """Policy rules other than the three every namespace starts with."""
    found: list[types.PolicyRule] = []
    with IPRoute() as ipr:
        for family in (socket.AF_INET, socket.AF_INET6):
            for message in ipr.get_rules(family=family):
                rule = _rule(message)
                if not _is_default_rule(rule):
                    found.append(rule)
    return found


def _rule(message: Any) -> types.PolicyRule:
    attrs = dict(message["attrs"])
    selectors: list[str] = []
    family = message["family"]
    if message["src_len"]:
        selectors.append(f"from {attrs.get('FRA_SRC')}/{message['src_len']}")
    if message["dst_len"]:
        selectors.append(f"to {attrs.get('FRA_DST')}/{message['dst_len']}")
    for key, word in (
        ("FRA_IIFNAME", "iif"), ("FRA_OIFNAME", "oif"), ("FRA_FWMARK", "fwmark"),
        ("FRA_IP_PROTO", "ipproto"), ("FRA_SPORT_RANGE", "sport"), ("FRA_DPORT_RANGE", "dport"),
        ("FRA_UID_RANGE", "uidrange"),
    ):  # fmt: skip
        if key in attrs and attrs[key] not in (None, 0):
            selectors.append(f"{word} {_range_text(attrs[key])}")
    if message["tos"]:
        selectors.append(f"tos {message['tos']:#x}")
    if message["flags"] & 0x2:  # FIB_RULE_INVERT
        selectors.insert(0, "not")
    return types.PolicyRule(
        family=family,
        priority=int(attrs.get("FRA_PRIORITY", 0)),
        action=netlinknames.RULE_ACTIONS.get(message["action"], str(message["action"])),
        table=int(attrs.get("FRA_TABLE", message["table"]) or 0),
        selectors=tuple(selectors),
    )


def _range_text(value: Any) -> str:
    if isinstance(value, str) and ":" in value:
        low, _, high = value.partition(":")
        return low if low == high else f"{low}-{high}"
    if isinstance(value, dict) and "start" in value:
        return str(value["start"]) if value["start"] == value["end"] else str(value)
    return str(value)


def _is_default_rule(rule: types.PolicyRule) -> bool:
    default_table = {0: 255, 32766: 254, 32767: 253}.get(rule.priority)
    return (
        rule.action == "lookup"
        and not rule.selectors
        and default_table == rule.table
        # IPv6 has no "default" table rule.
        and not (rule.family == socket.AF_INET6 and rule.priority == 32767)
    )
