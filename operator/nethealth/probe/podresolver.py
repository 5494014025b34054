"""The pod's resolver configuration, read as its applications see it.

A container has its own root: the kubelet's resolv.conf and hosts file are mounted into
it, and they are what its applications resolve with. The probe reads them through one of
the pod's processes (``/proc/<pid>/root/etc/...``: that process's view, mounts and all),
or from ``--resolv-conf``; with neither (``--netns``) it falls back to its own, and says
so in the report.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from nethealth.probe.dns import hostsfile, resolvconf

RESOLV_CONF: Final = "/etc/resolv.conf"
HOSTS: Final = "/etc/hosts"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resolver:
    conf: resolvconf.ResolvConf
    hosts: dict[str, tuple[str, ...]]
    source: str  # where the resolv.conf was read

    def info(self) -> dict[str, Any]:
        """For the report's ``probe.resolver``."""
        return {
            "source": self.source,
            "nameservers": list(self.conf.nameservers),
            "search": list(self.conf.search),
            "ndots": self.conf.ndots,
        }


def read(*, pid: int | None, path: str | None) -> Resolver:
    """The pod's: ``path`` if given, else its process ``pid``'s files, else the probe's own."""
    if path is not None and (text := _read(path)) is not None:
        return Resolver(conf=resolvconf.parse(text), hosts=_hosts(HOSTS), source=path)
    if pid is not None:
        root = f"/proc/{pid}/root"
        if (text := _read(f"{root}{RESOLV_CONF}")) is not None:
            return Resolver(
                conf=resolvconf.parse(text), hosts=_hosts(f"{root}{HOSTS}"),
                source=f"{root}{RESOLV_CONF}",
            )  # fmt: skip
    return dataclasses.replace(own(), source=f"{RESOLV_CONF} (the probe's own)")


def own() -> Resolver:
    """The probe's own (a fresh pod's, as the cluster sets it up)."""
    conf = resolvconf.parse(_read(RESOLV_CONF) or "")
    return Resolver(conf=conf, hosts=_hosts(HOSTS), source=RESOLV_CONF)


def _hosts(path: str) -> dict[str, tuple[str, ...]]:
    return hostsfile.parse(_read(path) or "")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(65536)
    except OSError:
        return None
