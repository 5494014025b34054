"""Stopping a node and removing everything it left, in the one order that works.

The kubelet goes first, so it restarts nothing; then the pod tasks (through
containerd while it still answers, else through the ``kubepods`` cgroups);
then containerd and etcd, any stray component or shim of the run, the pods'
network namespaces, the mounts under the run directory, the cgroups, the
iptables chains, CNI's cache and the log links. The run directory is emptied
but for its logs, which a failed CI run is read from afterwards.

``leftovers`` lists whatever of a node is still on the machine: an ``up``
refuses to start over it, and the test session checks it is empty at the end.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import subprocess

from nethealth.devcluster import components, errors, layout, nodestate, processes, teardown

# Stopped together first, so the kubelet restarts nothing while pods are killed.
KUBE_COMPONENTS = (
    "kubelet",
    "kube-proxy",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeardownReport:
    """What a teardown found and removed; all zeros after a clean one."""

    tasks_killed: int = 0
    pod_processes_killed: int = 0
    stray_processes_stopped: int = 0
    netns_removed: int = 0
    mounts_removed: int = 0
    cgroups_removed: int = 0
    iptables_chains_removed: int = 0
    cni_results_removed: int = 0
    log_links_removed: int = 0
    run_dir_removed: bool = False


def remove_all(run: layout.RunLayout, *, empty_run_dir: bool) -> TeardownReport:
    """Stop the node of ``run`` and remove all it left; a failed start keeps its files."""
    if not run.marker.exists():
        # Not a node's run directory: the machine-wide steps below (kubepods,
        # iptables) would hit whatever node does run here.
        return TeardownReport()
    state = nodestate.read(run)
    # Read before any task dies: killing a task removes its bundle.
    pod_netns = teardown.netns_of_tasks(run)
    task_ids = teardown.task_ids(run)
    kube = [run.pid_file_of(name) for name in KUBE_COMPONENTS]
    processes.stop_pid_files(kube)
    tasks = 0
    if state is not None and run.containerd_socket.is_socket():
        tasks = teardown.kill_tasks(ctr=pathlib.Path(state["ctr"]), socket=run.containerd_socket)
    pod_processes = teardown.kill_kubepods_processes()
    processes.stop_pid_files([run.pid_file_of("containerd"), run.pid_file_of("etcd")])
    strays = processes.find_mentioning(
        needle=f"{run.root}/", executables=teardown.COMPONENT_EXECUTABLES
    )
    processes.stop_all(strays, grace=3.0)
    netns = teardown.delete_netns(pod_netns | teardown.orphaned_pod_netns())
    mounts = teardown.unmount_under(run.root)
    cgroups = teardown.remove_kubepods_cgroups()
    chains = 0
    if state is not None and pathlib.Path(state["kubenode"]).is_file():
        subprocess.run(
            components.proxy_cleanup(pathlib.Path(state["kubenode"])),
            capture_output=True,
            timeout=60,
            check=False,
        )
    for command in ("iptables", "ip6tables"):
        if shutil.which(command):
            chains += teardown.remove_kube_chains(command)
    report = TeardownReport(
        tasks_killed=tasks,
        pod_processes_killed=pod_processes,
        stray_processes_stopped=len(strays),
        netns_removed=netns,
        mounts_removed=mounts,
        cgroups_removed=cgroups,
        iptables_chains_removed=chains,
        cni_results_removed=teardown.remove_cni_results(),
        log_links_removed=teardown.remove_container_log_links(run),
    )
    teardown.remove_shim_sockets(run=run, tasks=task_ids)
    processes.reap_exited()
    teardown.remove_empty_fixed_directories()
    if empty_run_dir:
        if teardown.mounts_under(run.root):
            raise errors.ClusterError(f"mounts remain under {run.root}; not removing it")
        _remove_keeping_logs(run)
        report = dataclasses.replace(report, run_dir_removed=True)
    return report


def leftovers(run_dir: pathlib.Path) -> list[str]:
    """Whatever of a node is still on the machine, described; empty after a clean teardown."""
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
    netns = teardown.netns_of_tasks(run) | teardown.orphaned_pod_netns()
    found += [f"netns {path}" for path in sorted(netns) if path.exists()]
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
