"""What ``up`` records about a cluster in its run directory, for later commands.

Written before any process starts, so that even a run that crashed while
starting leaves what its teardown needs (the ``ctr`` to kill tasks with) and
what a client needs. ``node_name`` and ``node_ip`` are the first node's, for
callers that think of one node.
"""

from __future__ import annotations

import json
from typing import TypedDict

from nethealth.devcluster import layout


class NodeRecord(TypedDict):
    name: str
    ip: str
    pod_cidr: str
    netns: str


class NodeState(TypedDict):
    node_name: str
    node_ip: str
    api_url: str
    kubenode: str
    ctr: str
    kubeconfig: str
    started_at: str
    nodes: list[NodeRecord]


def read(run: layout.RunLayout) -> NodeState | None:
    try:
        state: NodeState = json.loads(run.state_file.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


def write(run: layout.RunLayout, state: NodeState) -> None:
    run.state_file.write_text(json.dumps(state, indent=2) + "\n")
