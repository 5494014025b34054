"""The real trigger: UDP broadcasts to 255.255.255.255:1900 from the pod (SSDP M-SEARCH).

On a kernel with the broadcast route cache regression (kernels.py says which), a
broadcast that is the first lookup after a route cache flush poisons the CPU's cached
route through the default gateway, and that CPU's connects fail with ENENTUNREACH. On a
fixed kernel the same traffic does nothing. The test asserts whichever the running
kernel calls for, and in both cases proves that the broadcasts really left the pod.
"""

from __future__ import annotations

import os
import re
import sys
import time

import probe_cli
import pytest
import topology

from nethealth.probe import kernels, types

SPREAD = 4.0
# Every 0.25 s: flush the pod's route cache, then send an M-SEARCH from CPU 0, as Home
# Assistant's SSDP does (plus the cache invalidations its mDNS/IGMP traffic causes).
TRIGGER = r"""
import os, socket, subprocess, sys, time
os.sched_setaffinity(0, {0})
until = time.monotonic() + float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
sent = 0
while time.monotonic() < until:
    subprocess.run(["ip", "route", "flush", "cache"], check=True)
    sent += s.sendto(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n",
                     ("255.255.255.255", 1900)) > 0
    time.sleep(0.25)
print(sent, flush=True)
"""


def _out_broadcasts(node) -> int:
    text = node.exec(node.pod, "cat", "/proc/net/netstat").stdout
    header, values = [line for line in text.splitlines() if line.startswith("IpExt:")][:2]
    return int(dict(zip(header.split(), values.split(), strict=True))["OutBcastPkts"])


def test_broadcast_from_the_pod_is_detected_on_a_bad_kernel_and_harmless_on_a_fixed_one(
    node, tmp_path
):
    kernel = kernels.assess_running()
    if kernel.status == types.KernelStatus.UNKNOWN:
        message = f"cannot tell whether kernel {kernel.release} has the regression"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    before = _out_broadcasts(node)
    trigger = node.start(node.pod, sys.executable, "-c", TRIGGER, str(SPREAD + 2))
    time.sleep(0.5)  # the first broadcasts have gone out before the window opens
    result = probe_cli.probe(node, tmp_path, attempts=40, spread=SPREAD)
    out, err = trigger.communicate(timeout=30)
    assert trigger.returncode == 0, err
    sent = int(out.strip())
    assert sent >= 10
    assert _out_broadcasts(node) - before >= sent  # they really left the pod's namespace

    target = result.namespace("target")
    if kernel.status == types.KernelStatus.AFFECTED:
        assert (result.code, result.klass) == (1, "PodNamespace")
        assert result.hint_codes()[0] == "KernelBroadcastRouteCache"
        assert target["errnos"].get("ENETUNREACH", 0) > 0
        if len(os.sched_getaffinity(0)) > 1:  # the poisoned CPU fails, the others don't
            cpus = target["cpus"]
            assert cpus["0"]["failures"] > 0
            assert any(c["failures"] == 0 for cpu, c in cpus.items() if cpu != "0"), cpus
        assert re.search(r"fixed in \d", result.hint("KernelBroadcastRouteCache")["evidence"])
    else:
        assert (result.code, result.klass) == (0, "Healthy"), result.document["reason"]
        assert target["failures"] == 0
        assert target["attempts"] == 40
    assert topology.SERVER_IP in result.document["targets"][0]["addresses"]
