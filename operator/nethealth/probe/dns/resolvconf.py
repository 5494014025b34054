"""Pure: ``/etc/resolv.conf`` as glibc reads it, and the names a lookup tries in order.

Only what changes which server is asked for which name, and how long it is waited for:
``nameserver`` (at most three, as glibc's MAXNS), ``search`` / ``domain`` (the last one
wins), and ``options ndots:N timeout:N attempts:N``. A file without nameservers means the
local host (glibc's default). Unknown lines and options are ignored, as the resolver does.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Final

MAX_NAMESERVERS: Final = 3
MAX_SEARCH: Final = 6


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ("127.0.0.1",)
    search: tuple[str, ...] = ()
    ndots: int = 1
    timeout: float = 5.0  # seconds per query
    attempts: int = 2  # rounds over the nameservers


def parse(text: str) -> ResolvConf:
    """The configuration ``text`` describes (see the module docstring)."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    options: dict[str, int] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        key, values = words[0], words[1:]
        if key == "nameserver" and values and len(servers) < MAX_NAMESERVERS:
            if _is_address(values[0]):
                servers.append(values[0])
        elif key in ("search", "domain") and values:
            search = tuple(v.rstrip(".") for v in values if v != ".")[:MAX_SEARCH]
        elif key == "options":
            options.update(_options(values))
    defaults = ResolvConf()
    return ResolvConf(
        nameservers=tuple(servers) or defaults.nameservers,
        search=search,
        ndots=min(options.get("ndots", defaults.ndots), 15),
        timeout=float(min(max(options.get("timeout", int(defaults.timeout)), 1), 30)),
        attempts=min(max(options.get("attempts", defaults.attempts), 1), 5),
    )


def candidates(name: str, conf: ResolvConf) -> tuple[str, ...]:
    """The absolute names a lookup of ``name`` tries, in order (glibc's res_search): a
    trailing dot means exactly that name; with at least ``ndots`` dots the name as given
    comes first, else after the search list."""
    if name.endswith("."):
        return (name.rstrip(".").lower(),)
    bare = name.lower()
    searched = tuple(f"{bare}.{domain}".lower() for domain in conf.search)
    if bare.count(".") >= conf.ndots:
        return (bare, *searched)
    return (*searched, bare)


def _options(values: list[str]) -> dict[str, int]:
    found = {}
    for value in values:
        key, sep, number = value.partition(":")
        if sep and key in ("ndots", "timeout", "attempts") and number.isdigit():
            found[key] = int(number)
    return found


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True
