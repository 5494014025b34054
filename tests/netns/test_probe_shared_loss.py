"""Loss every namespace shares is never blamed on the pod, on a real kernel.

The server drops 10 % of the SYNs it gets, at random, whoever sends them (a classic BPF
socket filter on the listener: ``ld rand``): what a lossy uplink does to the pod, the
fresh pod and the node alike. With a connect timeout below TCP's first SYN retransmission
(1 s), a dropped SYN is a failed connect. Each namespace then loses about 6 of 60, in
different slots: the pod's share is often significant against noise while the fresh pod's
happens not to be, which two separate tests called PodNamespace (Filtered here: the
failures are timeouts) in about a fifth of runs. The paired comparison does not.
"""

from __future__ import annotations

import sys

import probe_cli

LOSS = 0.10

# SO_ATTACH_FILTER with: A = random u32; accept if A >= LOSS * 2^32, else drop.
_LOSSY_LISTENER = r"""
import ctypes, socket, struct, sys, threading
port, loss = int(sys.argv[1]), float(sys.argv[2])
SKF_AD_RANDOM = 0xfffff000 + 56
program = [
    (0x20, 0, 0, SKF_AD_RANDOM),        # ld  #rand
    (0x35, 0, 1, int(loss * 2**32)),    # jge #threshold, accept, drop
    (0x06, 0, 0, 0xffffffff),           # accept: ret #-1
    (0x06, 0, 0, 0),                    # drop:   ret #0
]
code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
fprog = struct.pack("HL", len(program), ctypes.addressof(code))
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
s.bind(("0.0.0.0", port))
s.listen(4096)
print("ready", flush=True)
while True:
    conn, _ = s.accept()
    conn.close()
"""


def test_loss_every_namespace_shares_is_not_blamed_on_the_pod(bare_node, tmp_path):
    node = bare_node
    listener = node.start(
        node.server, sys.executable, "-c", _LOSSY_LISTENER, str(node.port), str(LOSS)
    )
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "ready"
    result = probe_cli.probe(
        node, tmp_path, attempts=100, spread=3.0, timeout=0.4, extra=["--windows", "1"]
    )
    lost = {role: result.namespace(role)["failures"] for role in ("target", "control", "host")}
    assert all(0 < count < 30 for count in lost.values()), lost  # everyone loses some
    assert set(result.namespace("target")["errnos"]) == {"ETIMEDOUT"}
    assert result.klass not in ("PodNamespace", "Filtered"), result.document["reason"]
    (judged,) = result.document["judged"]
    assert judged["class"] not in ("PodNamespace", "Filtered")
