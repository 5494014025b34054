"""`nethealth cluster`: a real Kubernetes cluster of several nodes on this machine.

``build`` compiles ``kubenode``, ``helm``, CoreDNS and the local images (all cached,
so CI can pay for them in a step of their own); ``up`` starts a fresh cluster
(``--nodes N``, each node in a network namespace of its own), replacing any
leftover, and leaves it running; ``down`` removes everything it left;
``status`` shows every node and each component's process and memory; ``env``
prints the shell lines that point ``kubectl`` and the e2e tests at it; ``run``
starts a cluster, runs a command against it and removes the cluster after
(what CI runs the parallel e2e tier under).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import signal
import subprocess
import sys
import time

from nethealth.devcluster import layout

HELP = "build, start, inspect or stop a real multi-node cluster on this machine"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir",
        type=pathlib.Path,
        default=None,
        help=f"the node's run directory (default: ${layout.RUN_DIR_ENV} or "
        f"{layout.DEFAULT_RUN_DIR})",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("build", help="build kubenode, helm and the images (cached)")
    up = actions.add_parser(
        "up", help="start a fresh cluster (removing any leftover) and leave it running"
    )
    _nodes_option(up)
    actions.add_parser("down", help="stop the cluster and remove everything it left but its logs")
    actions.add_parser("status", help="show the nodes and processes; exit 1 if any is not running")
    actions.add_parser("env", help="print shell exports for the cluster's kubeconfig")
    run_parser = actions.add_parser(
        "run",
        help="start a cluster, run COMMAND with $NETHEALTH_KUBECONFIG pointing at it, then "
        "remove the cluster and fail if anything of it is left",
    )
    _nodes_option(run_parser)
    run_parser.add_argument(
        "--wait",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long to wait for another harness to release the run directory (default 600)",
    )
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="the command (after --)")


def _nodes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes",
        type=int,
        default=layout.DEFAULT_NODES,
        metavar="N",
        help=f"how many nodes (1 to {layout.MAX_NODES}, default {layout.DEFAULT_NODES}); "
        "--nodes 1 is the quickest to start",
    )


def run(args: argparse.Namespace) -> int:
    run_dir: pathlib.Path = args.run_dir or layout.default_run_dir()
    if args.action == "up":
        return _up(run_dir, nodes=args.nodes)
    if args.action == "run":
        return _run(run_dir, nodes=args.nodes, wait=args.wait, command=args.command)
    handlers = {"build": _build, "down": _down, "status": _status, "env": _env}
    return handlers[args.action](run_dir)


def _require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"nethealth cluster {action}: needs root (cgroups, mounts, iptables)")


def _build(run_dir: pathlib.Path) -> int:
    del run_dir
    from nethealth.devcluster import build, helmtool, images  # noqa: PLC0415 - keep `nethealth --help` light

    built = build.ensure_kubenode()
    verb = "built" if built.fresh else "cached"
    print(f"kubenode {verb} in {built.seconds:.1f} s: {built.path}")
    helm = helmtool.ensure_helm()
    verb = "built" if helm.fresh else "cached"
    print(f"helm {helm.version} {verb} in {helm.seconds:.1f} s: {helm.path}")
    started = time.monotonic()
    archives = images.build_all()
    print(f"images ready in {time.monotonic() - started:.1f} s:")
    for archive in archives:
        print(f"  {archive.ref}\t{archive.path}")
    return 0


def _up(run_dir: pathlib.Path, *, nodes: int) -> int:
    _require_root("up")
    from nethealth.devcluster import build, errors, images, node  # noqa: PLC0415 - keep `nethealth --help` light

    kubenode = build.ensure_kubenode().path
    archives = images.build_all()
    try:
        started = node.up(
            run_dir=run_dir,
            kubenode=kubenode,
            images=archives,
            pause_image=images.PAUSE_IMAGE,
            nodes=nodes,
        )
    except errors.ClusterError as exc:
        print(f"nethealth cluster up: {exc}", file=sys.stderr)
        return 1
    for milestone, seconds in started.milestones.items():
        print(f"  {seconds:6.2f} s  {milestone}")
    for info in started.nodes:
        print(f"node {info.name} is Ready at {info.ip} (netns {info.netns}, pods {info.pod_cidr})")
    print(f"API at {started.api_url}")
    print(f"logs: {run_dir / 'logs'}")
    print("use it with:")
    print(f"  export KUBECONFIG={shlex.quote(str(started.kubeconfig))}")
    print(f"  export NETHEALTH_KUBECONFIG={shlex.quote(str(started.kubeconfig))}  # e2e reuse")
    print("stop it with: nethealth cluster down")
    return 0


def _down(run_dir: pathlib.Path) -> int:
    _require_root("down")
    from nethealth.devcluster import cleanup, errors, node  # noqa: PLC0415 - keep `nethealth --help` light

    try:
        report = node.down(run_dir=run_dir)
    except errors.ClusterError as exc:
        print(f"nethealth cluster down: {exc}", file=sys.stderr)
        return 1
    removed = {k: v for k, v in vars(report).items() if v}
    print("removed: " + (", ".join(f"{k}={v}" for k, v in removed.items()) or "nothing"))
    remaining = cleanup.leftovers(run_dir)
    for item in remaining:
        print(f"left behind: {item}", file=sys.stderr)
    return 1 if remaining else 0


def _status(run_dir: pathlib.Path) -> int:
    from nethealth.devcluster import node  # noqa: PLC0415 - keep `nethealth --help` light

    state = node.read_state(layout.RunLayout(root=run_dir))
    for record in state["nodes"] if state else []:
        print(
            f"node {record['name']:20} ip {record['ip']:15} pods {record['pod_cidr']:18} "
            f"netns {record['netns']}"
        )
    statuses = node.component_status(run_dir)
    for status in statuses:
        running = "running" if status.alive else "stopped"
        print(
            f"{status.name:35} {running:8} pid {status.pid or '-':>7}  "
            f"rss {_mib(status.rss_kib)}  pss {_mib(status.pss_kib)}"
        )
    rss = sum(s.rss_kib or 0 for s in statuses)
    pss = sum(s.pss_kib or 0 for s in statuses)
    print(f"{'components':35} {'':8} {'':11}  rss {_mib(rss)}  pss {_mib(pss)}")
    pods = node.pod_processes_pss_kib()
    print(f"{'pods and their shims':35} {'':8} {'':11}  {'':15}  pss {_mib(pods)}")
    print(f"{'cluster':35} {'':8} {'':11}  {'':15}  pss {_mib(pss + pods)}")
    return 0 if all(s.alive for s in statuses) else 1


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:7.1f} MiB" if kib is not None else "      -    "


def _env(run_dir: pathlib.Path) -> int:
    kubeconfig = layout.RunLayout(root=run_dir).admin_kubeconfig
    if not kubeconfig.is_file():
        print(f"no node at {run_dir}: run `nethealth cluster up` first", file=sys.stderr)
        return 1
    print(f"export KUBECONFIG={shlex.quote(str(kubeconfig))}")
    print(f"export NETHEALTH_KUBECONFIG={shlex.quote(str(kubeconfig))}")
    return 0


def _run(run_dir: pathlib.Path, *, nodes: int, wait: float, command: list[str]) -> int:
    """Start a cluster, run ``command`` against it, remove the cluster, check nothing is left."""
    _require_root("run")
    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        print("nethealth cluster run: no COMMAND given (nethealth cluster run -- CMD ...)")
        return 64
    from nethealth.devcluster import build, cleanup, errors, images, lock, node  # noqa: PLC0415 - keep `nethealth --help` light

    kubenode = build.ensure_kubenode().path
    try:
        with lock.held(layout.RunLayout(root=run_dir), wait=wait):
            # Built (or found in the cache) once the lock is ours: while this waits, other
            # checkouts' builds may evict this tree's images from the shared cache.
            archives = images.build_all()
            started_at = time.monotonic()
            with node.running(
                run_dir=run_dir,
                kubenode=kubenode,
                images=archives,
                pause_image=images.PAUSE_IMAGE,
                nodes=nodes,
            ) as started:
                up = time.monotonic() - started_at
                print(f"nethealth cluster run: {len(started.nodes)} nodes Ready in {up:.1f} s")
                env = {**os.environ, "NETHEALTH_KUBECONFIG": str(started.kubeconfig)}
                code = _wait_for(subprocess.Popen(command, env=env))
            # Still under the lock: once it is released, another harness's cluster may start.
            remaining = cleanup.leftovers(run_dir)
    except errors.ClusterError as exc:
        print(f"nethealth cluster run: {exc}", file=sys.stderr)
        return 1
    for item in remaining:
        print(f"left behind: {item}", file=sys.stderr)
    return code if code != 0 or not remaining else 1


def _wait_for(child: subprocess.Popen[bytes]) -> int:
    """The child's exit code; a Ctrl-C reaches it too, and it is waited for before teardown."""
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
