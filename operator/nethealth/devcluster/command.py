"""`nethealth cluster`: a real single-node Kubernetes cluster on this machine.

``build`` compiles ``kubenode``, ``helm`` and the local images (all cached, so CI can
pay for them in a step of their own); ``up`` starts a fresh node, replacing
any leftover, and leaves it running; ``down`` removes everything it left;
``status`` shows each component's process and memory; ``env`` prints the
shell lines that point ``kubectl`` and the e2e tests at the node.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import sys
import time

from nethealth.devcluster import layout

HELP = "build, start, inspect or stop a real single-node cluster on this machine"


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
    actions.add_parser("up", help="start a fresh node (removing any leftover) and leave it running")
    actions.add_parser("down", help="stop the node and remove everything it left but its logs")
    actions.add_parser("status", help="show the node's processes; exit 1 if any is not running")
    actions.add_parser("env", help="print shell exports for the node's kubeconfig")


def run(args: argparse.Namespace) -> int:
    run_dir: pathlib.Path = args.run_dir or layout.default_run_dir()
    handlers = {"build": _build, "up": _up, "down": _down, "status": _status, "env": _env}
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


def _up(run_dir: pathlib.Path) -> int:
    _require_root("up")
    from nethealth.devcluster import build, errors, images, node  # noqa: PLC0415 - keep `nethealth --help` light

    kubenode = build.ensure_kubenode().path
    archives = images.build_all()
    try:
        started = node.up(
            run_dir=run_dir, kubenode=kubenode, images=archives, pause_image=images.PAUSE_IMAGE
        )
    except errors.ClusterError as exc:
        print(f"nethealth cluster up: {exc}", file=sys.stderr)
        return 1
    for milestone, seconds in started.milestones.items():
        print(f"  {seconds:6.2f} s  {milestone}")
    print(f"node {started.node_name} is Ready; API at {started.api_url}")
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

    statuses = node.component_status(run_dir)
    for status in statuses:
        rss = f"{status.rss_kib / 1024:7.1f} MiB" if status.rss_kib is not None else "      -    "
        state = "running" if status.alive else "stopped"
        print(f"{status.name:25} {state:8} pid {status.pid or '-':>7}  rss {rss}")
    total = sum(s.rss_kib or 0 for s in statuses) / 1024
    print(f"{'total':25} {'':8} {'':11}  rss {total:7.1f} MiB")
    return 0 if all(s.alive for s in statuses) else 1


def _env(run_dir: pathlib.Path) -> int:
    kubeconfig = layout.RunLayout(root=run_dir).admin_kubeconfig
    if not kubeconfig.is_file():
        print(f"no node at {run_dir}: run `nethealth cluster up` first", file=sys.stderr)
        return 1
    print(f"export KUBECONFIG={shlex.quote(str(kubeconfig))}")
    print(f"export NETHEALTH_KUBECONFIG={shlex.quote(str(kubeconfig))}")
    return 0
