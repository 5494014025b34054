"""Fixtures for the real-kernel tier: a fresh Calico-like node per test, always torn down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import topology as topology_module


@pytest.fixture
def node() -> Iterator[topology_module.Topology]:
    """A node with a target pod, a fresh control pod and a listening server."""
    with topology_module.calico_node() as built:
        yield built


@pytest.fixture
def bare_node() -> Iterator[topology_module.Topology]:
    """The same node without the listener: the test starts a server of its own."""
    with topology_module.calico_node(listener=False) as built:
        yield built
