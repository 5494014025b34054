"""The simulated node is sound: without faults every namespace reaches the server."""

from __future__ import annotations

import sys

import pytest
import topology


@pytest.mark.parametrize("destination", [topology.SERVER_IP, topology.SERVER_IP6])
def test_pods_and_node_reach_the_server_over_ipv4_and_ipv6(node, destination):
    code = f"import socket; socket.create_connection(({destination!r}, {node.port}), timeout=2)"
    for ns in (node.pod, node.fresh, node.node):
        done = node.exec(ns, sys.executable, "-c", code, check=False)
        assert done.returncode == 0, f"{ns} -> {destination}: {done.stderr}"
