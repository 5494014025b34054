"""Removing everything a dev cluster left on the machine, and nothing else.

The same steps serve a clean ``down`` and the cleanup of a run that crashed
(the next ``up`` calls them first), so each one works from what is on the
machine, not from what the harness remembers:

- pod network namespaces are found from the OCI bundles of containerd's live
  tasks in the run directory's state dir (read *before* the tasks are killed,
  which removes the bundles), plus any ``cni-*`` namespace holding an address
  of the pod range (a sandbox whose bundle is already gone);
- container processes are found through the cluster's cgroup tree (every
  node's ``cgroupRoot`` is under one parent), which survives both the kubelets
  and containerd (shims re-parent them to init);
- component processes are found by pid file and, failing that, by executable
  name and a command line that names the run directory;
- mounts are those of ``/proc/self/mountinfo`` under the run directory;
- iptables chains, ipsets and routes of kube-proxy and kube-router live in the
  nodes' own namespaces and go with them; any ``KUBE-*`` chain in the
  machine's tables is a single-node cluster's of an earlier version — one dev
  cluster runs per machine, so they are all ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import ipaddress
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import time

from nethealth.devcluster import layout

NETNS_DIR = layout.NETNS_DIR
SHIM_SOCKETS = pathlib.Path("/run/containerd/s")
CNI_RESULTS_DIR = pathlib.Path("/var/lib/cni/results")
CONTAINER_LOG_LINKS = pathlib.Path("/var/log/containers")
# The cluster's cgroup parent, and ``kubepods`` at the top, where a single-node
# cluster of an earlier version kept its pods.
CGROUP_TREES = (layout.CGROUP_PARENT, "kubepods")
COMPONENT_EXECUTABLES = frozenset(
    {"kubenode", "etcd", "containerd", "containerd-shim", "containerd-shim-runc-v2"}
)
IPTABLES_TABLES = ("filter", "nat", "mangle")
MNT_DETACH = 2


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mount:
    mount_point: pathlib.Path
    fs_type: str


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal \ooo.
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        fields = before.split()
        if len(fields) < 5 or not after:
            continue
        mounts.append(
            Mount(mount_point=pathlib.Path(_unescape(fields[4])), fs_type=after.split()[0])
        )
    return mounts


def current_mounts() -> list[Mount]:
    return parse_mountinfo(pathlib.Path("/proc/self/mountinfo").read_text())


def mounts_under(root: pathlib.Path) -> list[pathlib.Path]:
    """Mount points at or below ``root``, deepest first (the order to unmount them)."""
    found = {m.mount_point for m in current_mounts() if m.mount_point.is_relative_to(root)}
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _umount(path: pathlib.Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    # Lazy: a mount still busy because of a dying process goes when that process does.
    libc.umount2(os.fsencode(path), MNT_DETACH)


def unmount_under(root: pathlib.Path) -> int:
    """Unmount everything under ``root``; returns how many mount points it took."""
    count = 0
    for _ in range(10):  # mounts may be stacked on one point
        points = mounts_under(root)
        if not points:
            break
        for point in points:
            _umount(point)
            count += 1
    return count


def cgroup_hierarchies() -> list[pathlib.Path]:
    return [m.mount_point for m in current_mounts() if m.fs_type in ("cgroup", "cgroup2")]


def kubepods_cgroups() -> list[pathlib.Path]:
    """The cluster's cgroup trees, in every hierarchy."""
    return [h / tree for h in cgroup_hierarchies() for tree in CGROUP_TREES if (h / tree).is_dir()]


def pids_in_kubepods() -> set[int]:
    pids: set[int] = set()
    for root in kubepods_cgroups():
        for procs in root.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(line) for line in procs.read_text().split())
    return pids


def kill_kubepods_processes(*, timeout: float = 10.0) -> int:
    """SIGKILL every process left in the kubepods cgroups; returns how many there were."""
    initial = pids_in_kubepods()
    deadline = time.monotonic() + timeout
    remaining = initial
    while remaining and time.monotonic() < deadline:
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        remaining = pids_in_kubepods()
    return len(initial)


def remove_kubepods_cgroups() -> int:
    """Remove the (empty) kubepods cgroup trees, children first; returns how many."""
    removed = 0
    for root in kubepods_cgroups():
        directories = [p for p in root.rglob("*") if p.is_dir()]
        for directory in [*sorted(directories, key=lambda p: len(p.parts), reverse=True), root]:
            with contextlib.suppress(FileNotFoundError, OSError):
                directory.rmdir()
                removed += 1
    return removed


def netns_of_tasks(node: layout.NodeLayout) -> set[pathlib.Path]:
    """The network namespaces named in the OCI specs of the run's live tasks."""
    found: set[pathlib.Path] = set()
    for spec_file in node.task_bundles.glob("*/*/config.json"):
        with contextlib.suppress(OSError, ValueError):
            spec = json.loads(spec_file.read_text())
            for namespace in spec.get("linux", {}).get("namespaces", []):
                path = namespace.get("path", "")
                if namespace.get("type") == "network" and path.startswith(str(NETNS_DIR) + "/"):
                    found.add(pathlib.Path(path))
    return found


def task_ids(node: layout.NodeLayout) -> set[tuple[str, str]]:
    """``(namespace, id)`` of every task with a bundle in the run's state dir."""
    return {(b.parent.name, b.name) for b in node.task_bundles.glob("*/*") if b.is_dir()}


def shim_socket(*, node: layout.NodeLayout, namespace: str, task_id: str) -> pathlib.Path:
    """Where containerd 1.6 puts a task's shim socket: fixed, named by a digest.

    The digest is of ``<containerd address>/<namespace>/<id>``, so the socket of
    another containerd's task never has one of these names.
    """
    digest = hashlib.sha256(f"{node.containerd_socket}/{namespace}/{task_id}".encode())
    return SHIM_SOCKETS / digest.hexdigest()


def remove_shim_sockets(*, node: layout.NodeLayout, tasks: set[tuple[str, str]]) -> int:
    """Remove the shim sockets a killed shim could not remove itself."""
    removed = 0
    for namespace, task_id in tasks:
        socket = shim_socket(node=node, namespace=namespace, task_id=task_id)
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()
            removed += 1
    return removed


def _holds_pod_address(name: str) -> bool:
    result = subprocess.run(
        ["ip", "-n", name, "-j", "-4", "addr", "show"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return False
    with contextlib.suppress(ValueError):
        for link in json.loads(result.stdout or "[]"):
            for address in link.get("addr_info", []):
                if _in_pod_range(address.get("local", "")):
                    return True
    return False


def _in_pod_range(address: str) -> bool:
    try:
        return ipaddress.IPv4Address(address) in layout.POD_CIDR
    except ValueError:
        return False


def orphaned_pod_netns() -> set[pathlib.Path]:
    """``cni-*`` namespaces holding an address of the dev node's pod range."""
    if not NETNS_DIR.is_dir():
        return set()
    return {p for p in NETNS_DIR.glob("cni-*") if _holds_pod_address(p.name)}


def delete_netns(paths: set[pathlib.Path]) -> int:
    removed = 0
    for path in sorted(paths):
        if not path.exists():
            continue
        _umount(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def kill_tasks(*, ctr: pathlib.Path, socket: pathlib.Path) -> int:
    """Kill and delete every task in containerd's ``k8s.io`` namespace; returns how many."""
    base = [str(ctr), f"--address={socket}", "--namespace=k8s.io", "tasks"]
    listed = subprocess.run(
        [*base, "ls", "--quiet"], capture_output=True, text=True, timeout=20, check=False
    )
    ids = listed.stdout.split() if listed.returncode == 0 else []
    if ids:
        subprocess.run([*base, "rm", "--force", *ids], capture_output=True, timeout=60, check=False)
    return len(ids)


def cni_results() -> list[pathlib.Path]:
    """CNI's cached ADD results of the dev node's sandboxes.

    Files are ``<network>-<sandbox id>-<interface>``: the node's own network,
    and containerd's ``cni-loopback`` for the same sandboxes.
    """
    ours = list(CNI_RESULTS_DIR.glob(f"{layout.CNI_NETWORK}-*"))
    sandboxes = {p.name.removeprefix(f"{layout.CNI_NETWORK}-").rsplit("-", 1)[0] for p in ours}
    loopbacks = [CNI_RESULTS_DIR / f"cni-loopback-{sandbox}-lo" for sandbox in sandboxes]
    return ours + [p for p in loopbacks if p.exists()]


def remove_cni_results() -> int:
    results = cni_results()
    for cached in results:
        cached.unlink(missing_ok=True)
    return len(results)


# Directories containerd, CNI and the kubelet create at fixed places; removed
# only when empty, so whatever else uses them keeps its entries.
FIXED_DIRECTORIES = (
    SHIM_SOCKETS,
    pathlib.Path("/run/containerd/fifo"),
    pathlib.Path("/run/containerd/runc/k8s.io"),
    pathlib.Path("/run/containerd/runc"),
    pathlib.Path("/run/containerd"),
    CNI_RESULTS_DIR,
    CNI_RESULTS_DIR.parent,
    CONTAINER_LOG_LINKS,
)


# The kubelet's device-plugin registration socket: at a fixed path whatever its
# ``--root-dir``, so every kubelet of the cluster makes (and remakes) the one socket.
KUBELET_DEVICE_PLUGINS = pathlib.Path("/var/lib/kubelet/device-plugins")


def remove_empty_fixed_directories() -> None:
    (KUBELET_DEVICE_PLUGINS / "kubelet.sock").unlink(missing_ok=True)
    for directory in (*FIXED_DIRECTORIES, KUBELET_DEVICE_PLUGINS, KUBELET_DEVICE_PLUGINS.parent):
        with contextlib.suppress(OSError):
            directory.rmdir()


def remove_container_log_links(node: layout.NodeLayout) -> int:
    """Remove the kubelet's ``/var/log/containers`` links into the run's pod logs."""
    removed = 0
    if not CONTAINER_LOG_LINKS.is_dir():
        return 0
    for link in CONTAINER_LOG_LINKS.iterdir():
        with contextlib.suppress(OSError):
            if link.is_symlink() and pathlib.Path(os.readlink(link)).is_relative_to(node.pod_logs):
                link.unlink()
                removed += 1
    return removed


def kube_chains_present(command: str) -> list[str]:
    """``table/chain`` of every ``KUBE-*`` chain in the node's tables."""
    present = []
    for table in IPTABLES_TABLES:
        listed = subprocess.run(
            [command, "-w", "-t", table, "-S"], capture_output=True, text=True, check=False
        )
        present += [f"{table}/{chain}" for chain in kube_chains(listed.stdout)]
    return present


def kube_chains(rules: str) -> list[str]:
    """The ``KUBE-*`` chains declared in one table's ``iptables -S`` output."""
    return [line.split()[1] for line in rules.splitlines() if line.startswith("-N KUBE-")]


def jumps_into_kube_chains(rules: str) -> list[list[str]]:
    """Rules of the built-in chains that jump into a ``KUBE-*`` chain, as ``-D`` arguments."""
    deletions = []
    for line in rules.splitlines():
        # iptables -S quotes arguments with spaces (comments): split like a shell.
        parts = shlex.split(line)
        if len(parts) < 2 or parts[0] != "-A" or parts[1].startswith("KUBE-"):
            continue
        if any(part.startswith("KUBE-") for part in parts[2:]):
            deletions.append(["-D", *parts[1:]])
    return deletions


def remove_kube_chains(command: str) -> int:
    """Remove every ``KUBE-*`` chain and the jumps into them; returns how many chains."""
    removed = 0
    for table in IPTABLES_TABLES:
        listed = subprocess.run(
            [command, "-w", "-t", table, "-S"], capture_output=True, text=True, check=False
        )
        if listed.returncode != 0:
            continue
        for deletion in jumps_into_kube_chains(listed.stdout):
            subprocess.run(
                [command, "-w", "-t", table, *deletion], capture_output=True, check=False
            )
        chains = kube_chains(listed.stdout)
        for chain in chains:
            subprocess.run(
                [command, "-w", "-t", table, "-F", chain], capture_output=True, check=False
            )
        for chain in chains:
            done = subprocess.run(
                [command, "-w", "-t", table, "-X", chain], capture_output=True, check=False
            )
            removed += done.returncode == 0
    return removed
