"""A workaround: RTM_GETROUTE with the TCP flow key, over a plain NETLINK_ROUTE socket.

Why it exists. A policy rule such as ``ip rule add ipproto tcp dport 443 unreachable``
matches only lookups that carry the flow key, so the probe must ask the kernel the way
`ip route get <dst> ipproto tcp dport <port>` does, with RTA_IP_PROTO and RTA_DPORT.
pyroute2 0.9.7 cannot: its `rtmsg` attribute map ends at RTA_EXPIRES (type 23), so it
cannot encode RTA_IP_PROTO/RTA_SPORT/RTA_DPORT (27-29), and its synchronous
``nlm_request`` is broken. So this module extends `rtmsg` by those attributes
(`flow_rtmsg`) and sends the request and reads the answer itself (`RouteQuery`). Dumps
(rules, routes, addresses, neighbours) need neither and use `pyroute2.IPRoute` as usual.

When it can go: once the pyroute2 the probe requires (pyproject.toml pins a minimum)
knows the attributes (``[name for name, _ in rtmsg.nla_map][27:30]`` is
``['RTA_IP_PROTO', 'RTA_SPORT', 'RTA_DPORT']``) and
``IPRoute().route("get", dst=..., ip_proto=6, dport=...)`` returns the answer (and
raises with the lookup's errno for an unreachable rule). Then `lookups` can ask through
IPRoute like the dumps, and this module is deleted; the netns tier's flow-key tests
(`tests/netns/test_evidence.py`) say whether the replacement still sees the rule.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Final

from pyroute2.netlink import NLM_F_REQUEST, NLMSG_ERROR, nlmsgerr
from pyroute2.netlink.rtnl import RTM_GETROUTE
from pyroute2.netlink.rtnl.rtmsg import rtmsg

_NETLINK_TIMEOUT: Final = 2.0  # seconds; the kernel answers route queries at once


class RouteQuery:
    """A NETLINK_ROUTE socket answering RTM_GETROUTE with the flow-key attributes."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._socket.bind((0, 0))
        self._socket.settimeout(_NETLINK_TIMEOUT)
        self._sequence = 0

    def __enter__(self) -> RouteQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()

    def get(self, *, family: int, attrs: list[tuple[str, Any]], flags: int) -> Any:
        """The kernel's answer: a decoded `flow_rtmsg`, or the lookup's errno (an int)."""
        self._sequence += 1
        message = flow_rtmsg()
        message["header"]["type"] = RTM_GETROUTE
        message["header"]["flags"] = NLM_F_REQUEST
        message["header"]["sequence_number"] = self._sequence
        message["family"] = family
        message["dst_len"] = 32 if family == socket.AF_INET else 128
        message["flags"] = flags
        message["attrs"] = attrs
        message.encode()
        self._socket.send(message.data)
        while True:
            data = self._socket.recv(65536)
            _, kind, _, sequence = struct.unpack_from("=IHHI", data)
            if sequence != self._sequence:
                continue  # a stale answer to an earlier, timed-out request
            if kind == NLMSG_ERROR:
                error = nlmsgerr(data)
                error.decode()
                return -int(error["error"])
            answer = flow_rtmsg(data)
            answer.decode()
            return answer


class flow_rtmsg(rtmsg):  # type: ignore[misc]  # pyroute2 is untyped
    """pyroute2's rtmsg extended by the attributes it lacks (RTA_PAD..RTA_DPORT).

    Attribute types are positions in ``nla_map``, so the first 24 entries (RTA_UNSPEC to
    RTA_EXPIRES) are kept as pyroute2 has them and the missing ones follow in kernel order.
    """

    nla_map = (
        *rtmsg.nla_map[:24],
        ("RTA_PAD", "hex"),
        ("RTA_UID", "uint32"),
        ("RTA_TTL_PROPAGATE", "uint8"),
        ("RTA_IP_PROTO", "uint8"),
        ("RTA_SPORT", "be16"),
        ("RTA_DPORT", "be16"),
    )
