"""The dev cluster's CNI plugin, run as containerd runs it, on real namespaces: ADD gives
the pod Calico's link and an address of the node's slice, and DEL takes both back."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest
import topology

from nethealth.devcluster import calico, cni

SLICE = "198.51.100.0/26"


@pytest.fixture
def namespaces():
    prefix = topology.unique_prefix()
    names = [f"{prefix}-node", f"{prefix}-cni-pod"]
    try:
        for name in names:
            topology.run(["ip", "netns", "add", name])
        yield names
    finally:
        for name in names:
            topology.run(["ip", "netns", "del", name], check=False)


def _plugin(bin_dir: pathlib.Path, *, command: str, node: str, pod: str, state: pathlib.Path):
    config = {
        "cniVersion": "1.0.0",
        "name": "test",
        "type": cni.PLUGIN_TYPE,
        "mtu": 1400,
        "ipam": {"type": "host-local", "dataDir": str(state), "ranges": [[{"subnet": SLICE}]]},
    }
    env = {
        **os.environ,
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": f"sandbox-of-{pod}",
        "CNI_NETNS": f"{topology.NETNS_DIR}/{pod}",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(bin_dir),
    }
    done = subprocess.run(
        ["nsenter", f"--net={topology.NETNS_DIR}/{node}", "--", str(bin_dir / cni.PLUGIN_TYPE)],
        input=json.dumps(config),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_add_wires_a_calico_link_and_del_takes_it_back(namespaces, tmp_path):
    node, pod = namespaces
    bin_dir = tmp_path / "bin"
    cni.install(
        bin_dir=bin_dir,
        delegates=[pathlib.Path("/usr/lib/cni/host-local"), pathlib.Path("/usr/lib/cni/loopback")],
    )
    state = tmp_path / "ipam"

    result = _plugin(bin_dir, command="ADD", node=node, pod=pod, state=state)

    (ip,) = result["ips"]
    address = ip["address"].removesuffix("/32")
    assert ip["address"].endswith("/32")
    assert ip["gateway"] == str(calico.GATEWAY)
    host_side = calico.host_veth_name(f"sandbox-of-{pod}")
    assert [i["name"] for i in result["interfaces"]] == [host_side, "eth0"]
    routes = topology.run(["ip", "-n", pod, "-4", "route"]).stdout
    assert "default via 169.254.1.1 dev eth0" in routes
    assert f"{address}/32" in topology.run(["ip", "-n", pod, "-4", "addr", "show", "eth0"]).stdout
    on_node = topology.run(["ip", "-n", node, "-4", "route", "show", f"{address}/32"]).stdout
    assert f"dev {host_side}" in on_node
    proxy_arp = topology.run(
        [
            "nsenter",
            f"--net={topology.NETNS_DIR}/{node}",
            "cat",
            f"/proc/sys/net/ipv4/conf/{host_side}/proxy_arp",
        ]
    ).stdout
    assert proxy_arp.strip() == "1"
    assert any(p.name == address for p in state.rglob("*"))

    _plugin(bin_dir, command="DEL", node=node, pod=pod, state=state)
    _plugin(bin_dir, command="DEL", node=node, pod=pod, state=state)  # idempotent

    assert not any(p.name == address for p in state.rglob("*"))
    links = topology.run(["ip", "-n", node, "-o", "link"]).stdout
    assert host_side not in links
