"""The dev cluster's CNI plugin: Calico's pod link, per-node IPAM, nothing else.

containerd runs it (inside the node's network namespace) for every pod sandbox,
with the CNI command in ``$CNI_COMMAND``, the sandbox's namespace in
``$CNI_NETNS`` and the network's configuration on stdin. ``ADD`` asks the IPAM
plugin named in the configuration (``host-local`` with the node's slice of the
pod range) for an address, then builds the link of ``calico``: a /32 in the pod,
a default route via 169.254.1.1, proxy ARP and a /32 route on the node's side.
``DEL`` releases the address and removes the node's end (the pod's end goes
with its namespace). Routes between nodes are the fabric's (``fabric``), as
Calico's BGP would install them.

Why Python with the harness's own interpreter rather than a Go program: the
link's shape is written once in ``calico`` and shared with the netns test tier,
there is nothing to build or cache, and each call costs ~10 ``ip`` commands
plus an interpreter start, small beside a pod's start. The harness writes a
two-line executable that runs ``main`` into the cluster's CNI bin directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from nethealth.devcluster import calico

PLUGIN_TYPE = "nethealth-calico"
SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")
# CNI's well-known error codes: 7 invalid network config, 11 try again later.
ERROR_INVALID_CONFIG = 7
ERROR_TRY_AGAIN = 11
TIMEOUT_SECONDS = 20


class PluginError(Exception):
    """A failure reported to the runtime as a CNI error result."""

    def __init__(self, message: str, *, code: int = ERROR_TRY_AGAIN, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def netns_name(path: str) -> str:
    """The ``ip netns`` name of a pinned namespace path (containerd pins them there)."""
    pinned = pathlib.Path(path)
    if pinned.parent not in (pathlib.Path("/var/run/netns"), pathlib.Path("/run/netns")):
        raise PluginError(f"network namespace {path} is not pinned under /var/run/netns")
    return pinned.name


def _ip(*args: str, netns: str | None = None) -> str:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise PluginError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


def _set_sysctl(key: str, value: str) -> None:
    pathlib.Path("/proc/sys", *key.split(".")).write_text(value)


def _find_plugin(name: str, *, cni_path: str) -> pathlib.Path:
    for directory in cni_path.split(os.pathsep):
        candidate = pathlib.Path(directory) / name
        if directory and candidate.is_file():
            return candidate
    raise PluginError(f"IPAM plugin {name!r} not found in CNI_PATH {cni_path!r}")


def _delegate_ipam(config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Run the IPAM plugin with the same command and configuration; its result."""
    ipam_type = str((config.get("ipam") or {}).get("type", ""))
    if not ipam_type:
        raise PluginError("the network configuration has no ipam.type", code=ERROR_INVALID_CONFIG)
    plugin = _find_plugin(ipam_type, cni_path=env.get("CNI_PATH", ""))
    done = subprocess.run(
        [str(plugin)],
        input=json.dumps(config),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    result: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode != 0:
        raise PluginError(
            f"IPAM {ipam_type}: {result.get('msg') or done.stderr.strip()}",
            details=str(result.get("details", "")),
        )
    return result


def _ipv4_of(ipam_result: Mapping[str, Any]) -> ipaddress.IPv4Address:
    for entry in ipam_result.get("ips") or []:
        address = ipaddress.ip_interface(entry["address"]).ip
        if isinstance(address, ipaddress.IPv4Address):
            return address
    raise PluginError(f"IPAM returned no IPv4 address: {ipam_result}")


def _mac(interface: str, *, netns: str | None = None) -> str:
    (link,) = json.loads(_ip("-j", "link", "show", "dev", interface, netns=netns))
    return str(link.get("address", ""))


def add(*, config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Wire the sandbox and return the CNI result naming its address."""
    pod_netns = netns_name(env["CNI_NETNS"])
    ifname = env.get("CNI_IFNAME") or calico.POD_INTERFACE
    ipam = _delegate_ipam(config, env)
    mtu = config.get("mtu")
    link = calico.PodLink(
        host_side=calico.host_veth_name(env["CNI_CONTAINERID"]),
        address=_ipv4_of(ipam),
        pod_side=ifname,
        mtu=int(mtu) if mtu else None,
    )
    try:
        _ip(*calico.create_pair(link, pod_netns=pod_netns))
        for key, value in calico.node_sysctls(link).items():
            _set_sysctl(key, value)
        for command in calico.node_side(link):
            _ip(*command)
        for command in calico.pod_side(link):
            _ip(*command, netns=pod_netns)
    except BaseException:
        # Give the address back and drop a half-built link: the runtime retries ADD.
        with contextlib.suppress(PluginError, OSError, subprocess.SubprocessError):
            _release(config=config, env=env, host_side=link.host_side)
        raise
    return {
        "cniVersion": config.get("cniVersion", SUPPORTED_VERSIONS[-1]),
        "interfaces": [
            {"name": link.host_side, "mac": _mac(link.host_side)},
            {"name": ifname, "mac": _mac(ifname, netns=pod_netns), "sandbox": env["CNI_NETNS"]},
        ],
        "ips": [{"address": f"{link.address}/32", "gateway": str(calico.GATEWAY), "interface": 1}],
        "routes": [{"dst": "0.0.0.0/0", "gw": str(calico.GATEWAY)}],
        "dns": {},
    }


def _release(*, config: Mapping[str, Any], env: Mapping[str, str], host_side: str) -> None:
    subprocess.run(["ip", "link", "del", host_side], capture_output=True, check=False)
    _delegate_ipam(config, {**env, "CNI_COMMAND": "DEL"})


def delete(*, config: Mapping[str, Any], env: Mapping[str, str]) -> None:
    """Release the sandbox's address and remove the node's end; idempotent."""
    _release(config=config, env=env, host_side=calico.host_veth_name(env["CNI_CONTAINERID"]))


def run(*, stdin: TextIO, stdout: TextIO, env: Mapping[str, str]) -> int:
    command = env.get("CNI_COMMAND", "")
    if command == "VERSION":
        json.dump({"cniVersion": "1.0.0", "supportedVersions": list(SUPPORTED_VERSIONS)}, stdout)
        return 0
    try:
        config: dict[str, Any] = json.loads(stdin.read() or "{}")
        if command == "ADD":
            json.dump(add(config=config, env=env), stdout)
        elif command == "DEL":
            delete(config=config, env=env)
        elif command == "CHECK":
            pass  # the link is checked by the traffic the tests send, not here
        else:
            raise PluginError(f"unsupported CNI_COMMAND {command!r}", code=4)
    except PluginError as exc:
        _error(stdout, code=exc.code, message=str(exc), details=exc.details)
        return 1
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        _error(stdout, code=999, message=f"{type(exc).__name__}: {exc}", details="")
        return 1
    return 0


def _error(stdout: TextIO, *, code: int, message: str, details: str) -> None:
    json.dump({"cniVersion": "1.0.0", "code": code, "msg": message, "details": details}, stdout)


def main() -> int:
    return run(stdin=sys.stdin, stdout=sys.stdout, env=os.environ)


def install(*, bin_dir: pathlib.Path, delegates: Sequence[pathlib.Path]) -> pathlib.Path:
    """Fill ``bin_dir`` with this plugin (run by this interpreter) and links to ``delegates``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for plugin in delegates:
        link = bin_dir / plugin.name
        link.unlink(missing_ok=True)
        link.symlink_to(plugin)
    executable = bin_dir / PLUGIN_TYPE
    executable.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from nethealth.devcluster import cni\n"
        "sys.exit(cni.main())\n"
    )
    executable.chmod(0o755)
    return executable
