"""What one probe run costs: wall time, peak RSS, and per-attempt overhead over a bare loop.

Builds the Calico-like test node (tests/netns/topology.py; needs root), then:

1. runs the real CLI once: ``--attempts N`` connects to one target in three namespaces
   (target pod, fresh pod, node), spread over ``--spread`` seconds, and reports its wall
   time against the budget (spread + 5 s) and the peak RSS of the largest process of the
   probe's process tree (the CLI or one of its forked children);
2. in the pod's namespace, times ``measure.run`` with no spread (attempts back to back)
   against a bare non-blocking connect loop to the same destination, and reports the
   per-attempt cost of each and their ratio (the price of pinning, polling, recording).

    sudo .venv/bin/python benchmarks/probe_cost.py [--spread 30] [--attempts 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import pathlib
import select
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "netns"))

import topology  # noqa: E402 (found through the path above)

from nethealth.probe import measure, netns, types  # noqa: E402

RSS_BUDGET_MIB = 64
WALL_SLACK = 5.0


def run_cli(node: topology.Topology, *, attempts: int, spread: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        argv = [
            str(ROOT / ".venv" / "bin" / "nethealth"),
            "probe",
            "--netns",
            node.pod_netns,
            "--control-netns",
            node.fresh_netns,
            "--host-netns",
            node.node_netns,
            "--target",
            f"{topology.SERVER_IP}:{node.port}",
            "--attempts",
            str(attempts),
            "--spread",
            str(spread),
            "--output",
            "json",
            "--termination-log",
            os.path.join(scratch, "termination-log"),
        ]
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # wait4 reports the largest maxrss of the process and its reaped descendants.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        out = process.stdout.read() if process.stdout else b""
        err = process.stderr.read() if process.stderr else b""
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1, 2):
        raise SystemExit(f"probe failed ({process.returncode}): {err.decode()}")
    document = json.loads(out)
    return {
        "wall_s": wall,
        "budget_s": spread + WALL_SLACK,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "class": document.get("class"),
        "exit": process.returncode,
    }


def _bare_loop(address: str, port: int, count: int, pinned: bool = False) -> float:
    """What an application does: non-blocking connect, wait until writable, close.

    ``pinned`` adds only the probe's CPU round robin, to show what that part costs.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    cpus = sorted(os.sched_getaffinity(0))
    started = time.perf_counter()
    for index in range(count):
        if pinned:
            os.sched_setaffinity(0, {cpus[index % len(cpus)]})
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sock.connect_ex((address, port)) == errno.EINPROGRESS:
            select.select([], [sock], [], 3.0)
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        sock.close()
    return (time.perf_counter() - started) / count


def _probe_loop(plan: measure.Plan) -> float:
    started = time.perf_counter()
    done = measure.run(dataclasses.replace(plan, start_at=time.monotonic()))
    return (time.perf_counter() - started) / len(done)


def per_attempt(node: topology.Topology, *, count: int, rounds: int = 5) -> dict[str, float]:
    endpoint = types.Endpoint(name="server", address=topology.SERVER_IP, port=node.port)
    plan = measure.Plan(
        endpoints=(endpoint,), attempts=count, spread=0.0, timeout=3.0, start_at=0.0
    )
    bare = min(
        netns.run_in(node.pod_netns, _bare_loop, endpoint.address, endpoint.port, count)
        for _ in range(rounds)
    )
    pinned = min(
        netns.run_in(node.pod_netns, _bare_loop, endpoint.address, endpoint.port, count, True)
        for _ in range(rounds)
    )
    probe = min(netns.run_in(node.pod_netns, _probe_loop, plan) for _ in range(rounds))
    return {
        "bare_us": bare * 1e6,
        "pinned_us": pinned * 1e6,
        "probe_us": probe * 1e6,
        "ratio": probe / bare,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spread", type=float, default=30.0)
    parser.add_argument("--attempts", type=int, default=60)
    args = parser.parse_args()
    with topology.calico_node() as node:
        cli = run_cli(node, attempts=args.attempts, spread=args.spread)
        overhead = per_attempt(node, count=max(args.attempts, 60))
    within = "ok" if cli["wall_s"] <= cli["budget_s"] else "OVER"
    small = "ok" if cli["peak_rss_mib"] <= RSS_BUDGET_MIB else "OVER"
    print(
        f"probe run: {args.attempts} attempts x 3 namespaces x 1 target, spread {args.spread:g} s"
    )
    print(f"  wall time      {cli['wall_s']:.2f} s (budget {cli['budget_s']:.0f} s: {within})")
    print(
        f"  peak RSS       {cli['peak_rss_mib']:.1f} MiB (largest process; budget "
        f"{RSS_BUDGET_MIB} MiB: {small})"
    )
    print(f"  result         class={cli['class']} exit={cli['exit']}")
    print("per attempt (pod namespace, back to back, best of 5):")
    print(f"  bare loop      {overhead['bare_us']:.1f} us")
    print(f"  bare + pinning {overhead['pinned_us']:.1f} us (the CPU round robin alone)")
    print(f"  probe          {overhead['probe_us']:.1f} us")
    print(f"  ratio          {overhead['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
