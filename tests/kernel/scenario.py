"""Inside the VM: the seed incident's steps on a Calico-like node, diagnosed by the probe.

Run by the VM's job as root (``python scenario.py RESULTS_DIR``) on the kernel under
test. It builds the node of the netns tier (``tests/netns/topology.py``: a pod and a
fresh pod with /32 addresses behind veths, ``default via 169.254.1.1``, proxy ARP, a
server behind the node's uplink), then, step by step:

    baseline     nothing done yet                      probe the pod
    poisoned     pod: IGMP join/leave + M-SEARCH on CPU 0  probe the pod
    cleared      pod: IGMP join/leave                  probe the pod
    fresh        fresh pod: join/leave + M-SEARCH on CPU 1 probe the fresh pod (control: pod)
    oscillating  pod: SSDP-like loop (join, M-SEARCH, wait, leave, wait) on CPU 0
                                                       probe the pod over several periods
    cured        `nethealth cure` adds the route in the pod's namespace (what the cure Job
                 runs), then join/leave + M-SEARCH on CPU 0   probe the pod
    cured_oscillating  the SSDP-like loop again, with the route    probe the pod
    uncured      `nethealth cure --action remove`, then join/leave + M-SEARCH on CPU 0
                                                       probe the pod

Each step records the probe's JSON, how long the probe took, an independent per-CPU
connect tally and ``ip route get`` per CPU, into ``RESULTS_DIR/scenario.json``. It
asserts nothing: the tests on the host judge the record.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "netns"))

import topology  # noqa: E402 (after the path is set)

SSDP = str(HERE / "ssdp.py")
NETHEALTH = str(pathlib.Path(sys.executable).parent / "nethealth")
TARGET = f"server={topology.SERVER_IP}:{topology.PORT}"
PROBE_ATTEMPTS = 40
PROBE_SPREAD = 4.0
CONNECTS_PER_CPU = 20
LOOP_PERIOD = 2.0
OSCILLATING_ATTEMPTS = 80
OSCILLATING_SPREAD = 12.0


def main(results: pathlib.Path) -> int:
    record: dict[str, Any] = {"uname": os.uname().release, "cpus": os.cpu_count(), "steps": []}
    started = time.monotonic()
    with topology.calico_node() as node:
        record["topology_seconds"] = round(time.monotonic() - started, 2)
        steps = record["steps"]
        steps.append(step(node, "baseline", target=node.pod, control=node.fresh))

        ssdp(node.pod, "broadcast", "--cpu", "0", "--invalidate")
        steps.append(step(node, "poisoned", target=node.pod, control=node.fresh))

        ssdp(node.pod, "invalidate")
        steps.append(step(node, "cleared", target=node.pod, control=node.fresh))

        ssdp(node.fresh, "broadcast", "--cpu", "1", "--invalidate")
        steps.append(step(node, "fresh", target=node.fresh, control=node.pod))
        ssdp(node.fresh, "invalidate")

        sender = node.start(node.pod, sys.executable, SSDP, "loop", "--cpu", "0",
                            "--period", str(LOOP_PERIOD))  # fmt: skip
        time.sleep(0.5)
        steps.append(
            step(node, "oscillating", target=node.pod, control=node.fresh,
                 attempts=OSCILLATING_ATTEMPTS, spread=OSCILLATING_SPREAD)
        )  # fmt: skip
        sender.kill()
        out, _ = sender.communicate(timeout=10)
        steps[-1]["sender"] = out.splitlines()

        added = cure(node, "add")
        ssdp(node.pod, "broadcast", "--cpu", "0", "--invalidate")
        steps.append(step(node, "cured", target=node.pod, control=node.fresh))
        steps[-1]["cure"] = added
        sender = node.start(node.pod, sys.executable, SSDP, "loop", "--cpu", "0",
                            "--period", str(LOOP_PERIOD))  # fmt: skip
        time.sleep(0.5)
        # Two sender periods in one default window: enough to poison CPU 0 without the route.
        steps.append(step(node, "cured_oscillating", target=node.pod, control=node.fresh))
        sender.kill()
        sender.communicate(timeout=10)
        removed = cure(node, "remove")
        ssdp(node.pod, "broadcast", "--cpu", "0", "--invalidate")
        steps.append(step(node, "uncured", target=node.pod, control=node.fresh))
        steps[-1]["cure"] = removed
    record["total_seconds"] = round(time.monotonic() - started, 2)
    (results / "scenario.json").write_text(json.dumps(record, indent=1))
    return 0


def step(
    node: topology.Topology,
    name: str,
    *,
    target: str,
    control: str,
    attempts: int = PROBE_ATTEMPTS,
    spread: float = PROBE_SPREAD,
) -> dict[str, Any]:
    print(f"step {name}", flush=True)
    # Ground truth first and the route lookups after, both independent of the probe.
    tally = node.exec(target, sys.executable, SSDP, "connects", "--count",
                      str(CONNECTS_PER_CPU), "--port", str(topology.PORT),
                      topology.SERVER_IP).stdout  # fmt: skip
    routes = {
        str(cpu): node.exec(target, "taskset", "-c", str(cpu), "ip", "route", "get",
                            topology.SERVER_IP, check=False).stdout.strip()
        for cpu in sorted(os.sched_getaffinity(0))
    }  # fmt: skip
    argv = [
        NETHEALTH, "probe",
        "--netns", node.path(target),
        "--control-netns", node.path(control),
        "--host-netns", node.node_netns,
        "--target", TARGET,
        "--attempts", str(attempts), "--spread", str(spread), "--timeout", "2",
        "--output", "json",
    ]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    seconds = time.monotonic() - began
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        document = {"unparsable_stdout": done.stdout[-2000:]}
    print(f"step {name}: class {document.get('class')} in {seconds:.1f} s", flush=True)
    return {
        "name": name,
        "connects": json.loads(tally),
        "route_get": routes,
        "probe": document,
        "probe_exit": done.returncode,
        "probe_stderr": done.stderr[-2000:],
        "probe_seconds": round(seconds, 2),
    }


def cure(node: topology.Topology, action: str) -> dict[str, Any]:
    """`nethealth cure` on the pod's namespace: the command the cure Job runs (here the
    namespace is named by path; the pod-UID lookup is the netns tier's)."""
    argv = [NETHEALTH, "cure", "--netns", node.pod_netns, "--action", action,
            "--termination-log", ""]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    print(f"cure {action}: {done.stdout.strip()} {done.stderr.strip()}", flush=True)
    try:
        document: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        document = {"unparsable_stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}
    document["exit"] = done.returncode
    return document


def ssdp(ns: str, *args: str) -> None:
    topology.run(["ip", "netns", "exec", ns, sys.executable, SSDP, *args])


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
