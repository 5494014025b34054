"""Stopping a cluster and removing everything it left, in the one order that works.

The kubelets and the other Kubernetes components go first, so nothing restarts
a pod while pods are killed; then the pod tasks (through each node's
containerd while it still answers, else through the cluster's cgroup tree);
then the containerds and etcd, any stray component or shim of the run, the
pods' network namespaces, the nodes' namespaces with the fabric (their
iptables rules, ipsets and routes go with them), the mounts under the run
directory, the cgroups, any ``KUBE-*`` chain in the machine's own tables, CNI's
cache and the log links. The run directory is emptied but for its logs, which
a failed CI run is read from afterwards.

``leftovers`` lists whatever of a cluster is still on the machine: an ``up``
refuses to start over it, and the test session checks it is empty at the end.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

from nethealth.devcluster import errors, fabric, layout, nodestate, processes, teardown

# Stopped together first, so no kubelet restarts anything while pods are killed.
NODE_KUBE_COMPONENTS = ("kubelet", "kube-proxy", "kube-router-netpol")
CONTROL_PLANE_KUBE_COMPONENTS = ("kube-scheduler", "kube-controller-manager", "kube-apiserver")
KUBE_COMPONENTS = NODE_KUBE_COMPONENTS + CONTROL_PLANE_KUBE_COMPONENTS
CONTROL_PLANE_COMPONENTS = ("etcd", *reversed(CONTROL_PLANE_KUBE_COMPONENTS))
NODE_COMPONENTS = ("containerd", *NODE_KUBE_COMPONENTS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeardownReport:
    """What a teardown found and removed; all zeros after a clean one."""

    tasks_killed: int = 0
    pod_processes_killed: int = 0
    stray_processes_stopped: int = 0
    netns_removed: int = 0
    fabric_removed: int = 0
    mounts_removed: int = 0
    cgroups_removed: int = 0
    iptables_chains_removed: int = 0
    cni_results_removed: int = 0
    log_links_removed: int = 0
    run_dir_removed: bool = False


def _kill_tasks(run: layout.RunLayout, nodes: list[layout.NodeLayout]) -> int:
    state = nodestate.read(run)
    if state is None:
        return 0
    ctr = pathlib.Path(state["ctr"])
    return sum(
        teardown.kill_tasks(ctr=ctr, socket=n.containerd_socket)
        for n in nodes
        if n.containerd_socket.is_socket()
    )


def remove_all(run: layout.RunLayout, *, empty_run_dir: bool) -> TeardownReport:
    """Stop the cluster of ``run`` and remove all it left; a failed start keeps its files."""
    if not run.marker.exists():
        # Not a cluster's run directory: the machine-wide steps below (cgroups,
        # the fabric) would hit whatever cluster does run here.
        return TeardownReport()
    nodes = run.node_layouts()
    # Read before any task dies: killing a task removes its bundle.
    pod_netns = set().union(*(teardown.netns_of_tasks(n) for n in nodes))
    task_ids = {n.name: teardown.task_ids(n) for n in nodes}
    kube = [n.pid_file_of(name) for n in nodes for name in NODE_KUBE_COMPONENTS]
    kube += [run.pid_file_of(name) for name in CONTROL_PLANE_KUBE_COMPONENTS]
    processes.stop_pid_files(kube)
    tasks = _kill_tasks(run, nodes)
    pod_processes = teardown.kill_kubepods_processes()
    processes.stop_pid_files([n.pid_file_of("containerd") for n in nodes])
    processes.stop_pid_files([run.pid_file_of("etcd")])
    strays = processes.find_mentioning(
        needle=f"{run.root}/", executables=teardown.COMPONENT_EXECUTABLES
    )
    processes.stop_all(strays, grace=3.0)
    netns = teardown.delete_netns(pod_netns | teardown.orphaned_pod_netns())
    fabric_removed = fabric.remove()
    mounts = teardown.unmount_under(run.root)
    cgroups = teardown.remove_kubepods_cgroups()
    chains = 0
    for command in ("iptables", "ip6tables"):
        if shutil.which(command):
            chains += teardown.remove_kube_chains(command)
    report = TeardownReport(
        tasks_killed=tasks,
        pod_processes_killed=pod_processes,
        stray_processes_stopped=len(strays),
        netns_removed=netns,
        fabric_removed=fabric_removed,
        mounts_removed=mounts,
        cgroups_removed=cgroups,
        iptables_chains_removed=chains,
        cni_results_removed=teardown.remove_cni_results(),
        log_links_removed=sum(teardown.remove_container_log_links(n) for n in nodes),
    )
    for n in nodes:
        teardown.remove_shim_sockets(node=n, tasks=task_ids[n.name])
    processes.reap_exited()
    teardown.remove_empty_fixed_directories()
    if empty_run_dir:
        if teardown.mounts_under(run.root):
            raise errors.ClusterError(f"mounts remain under {run.root}; not removing it")
        _remove_keeping_logs(run)
        report = dataclasses.replace(report, run_dir_removed=True)
    return report


def leftovers(run_dir: pathlib.Path) -> list[str]:
    """Whatever of a cluster is still on the machine, described; empty after a clean teardown."""
    run = layout.RunLayout(root=run_dir)
    found = [
        f"process {r.pid} {' '.join(processes.command_line_of(r.pid))[:120]}"
        for r in processes.find_mentioning(
            needle=f"{run.root}/", executables=teardown.COMPONENT_EXECUTABLES
        )
    ]
    found += [f"pod process {pid}" for pid in sorted(teardown.pids_in_kubepods())]
    found += [f"cgroup {path}" for path in teardown.kubepods_cgroups()]
    found += [f"mount {path}" for path in teardown.mounts_under(run.root)]
    netns = teardown.orphaned_pod_netns().union(
        *(teardown.netns_of_tasks(n) for n in run.node_layouts())
    )
    found += [f"netns {path}" for path in sorted(netns) if path.exists()]
    found += [f"node netns {path}" for path in fabric.node_namespaces()]
    found += [f"link {name}" for name in fabric.links()]
    found += [f"route {route}" for route in fabric.pod_routes()]
    found += [f"CNI result {path}" for path in teardown.cni_results()]
    for command in ("iptables", "ip6tables"):
        if shutil.which(command):
            found += [f"{command} chain {c}" for c in teardown.kube_chains_present(command)]
    return found


def _remove_keeping_logs(run: layout.RunLayout) -> None:
    """Empty the run directory but for its logs (a failed CI run is read after teardown)."""
    for entry in run.root.iterdir():
        if entry in (run.logs, run.marker):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
