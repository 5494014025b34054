"""Pure: DNS messages (RFC 1035): a recursive query for one name and type, and its answer.

Just enough of the format to ask what an application's resolver asks (A or AAAA, class IN,
recursion desired) and to read what comes back: the response code, whether it was cut
short (TC: the answer needs TCP), and the addresses of the asked type in the answer
section, whatever chain of CNAMEs led to them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import struct
from typing import Final

TYPE_A: Final = 1
TYPE_AAAA: Final = 28
CLASS_IN: Final = 1
RCODES: Final = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
}
_HEADER: Final = struct.Struct("!HHHHHH")
_RR: Final = struct.Struct("!HHIH")


class MalformedError(ValueError):
    """Not a DNS message this module can read."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Answer:
    ident: int
    rcode: str  # "NOERROR", "NXDOMAIN", "SERVFAIL", ...
    truncated: bool
    addresses: tuple[str, ...]


def query(*, ident: int, name: str, qtype: int) -> bytes:
    """A recursive query for ``name`` (absolute, no trailing dot) of type ``qtype``."""
    header = _HEADER.pack(ident, 0x0100, 1, 0, 0, 0)  # RD
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def encode_name(name: str) -> bytes:
    labels = [label for label in name.rstrip(".").split(".") if label]
    out = bytearray()
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode("ascii")
        if not 1 <= len(raw) <= 63:
            raise ValueError(f"label {label!r} of {name!r} is not 1 to 63 bytes long")
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > 255:
        raise ValueError(f"{name!r} is longer than 255 bytes")
    return bytes(out + b"\0")


def answer(message: bytes, *, qtype: int) -> Answer:
    """What a response says; raise `MalformedError` for anything unreadable."""
    try:
        ident, flags, questions, answers, _, _ = _HEADER.unpack_from(message, 0)
        offset = _HEADER.size
        for _ in range(questions):
            offset = _skip_name(message, offset) + 4
        found = []
        for _ in range(answers):
            offset = _skip_name(message, offset)
            rtype, rclass, _, length = _RR.unpack_from(message, offset)
            offset += _RR.size
            data = message[offset : offset + length]
            offset += length
            if rclass == CLASS_IN and rtype == qtype == TYPE_A and length == 4:
                found.append(str(ipaddress.IPv4Address(data)))
            elif rclass == CLASS_IN and rtype == qtype == TYPE_AAAA and length == 16:
                found.append(str(ipaddress.IPv6Address(data)))
    except (struct.error, IndexError) as e:
        raise MalformedError(f"malformed DNS message: {e}") from None
    if not flags & 0x8000:
        raise MalformedError("not a response")
    return Answer(
        ident=ident,
        rcode=RCODES.get(flags & 0xF, f"RCODE{flags & 0xF}"),
        truncated=bool(flags & 0x0200),
        addresses=tuple(found),
    )


def _skip_name(message: bytes, offset: int) -> int:
    """The offset after the (possibly compressed) name at ``offset``."""
    for _ in range(128):
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2  # a pointer ends the name
        offset += 1 + length
    raise MalformedError("name too long")
