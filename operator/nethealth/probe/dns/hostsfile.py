"""Pure: ``/etc/hosts``, which an application's resolver reads before DNS ("files dns").

The kubelet writes a pod's hosts file (localhost, the pod's own name, ``hostAliases``), so
a name found there never reaches a nameserver, and must not be judged as if it did.
"""

from __future__ import annotations

import ipaddress


def parse(text: str) -> dict[str, tuple[str, ...]]:
    """Names (lower case) to their addresses, in file order, IPv4 before IPv6."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(words[0].split("%", 1)[0]))
        except ValueError:
            continue
        for name in words[1:]:
            listed = found.setdefault(name.lower().rstrip("."), [])
            if address not in listed:
                listed.append(address)
    return {
        name: tuple(sorted(addresses, key=lambda a: ":" in a)) for name, addresses in found.items()
    }
