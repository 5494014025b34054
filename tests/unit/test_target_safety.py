"""Targets on the node itself are refused, naming the field and the way out."""

from __future__ import annotations

import pytest

from nethealth import model, settings
from nethealth.detection import targetsafety
from nethealth.probe import types


def _targets(*hosts: str) -> list[types.Target]:
    return [types.Target(name=f"t{i}", host=host, port=80) for i, host in enumerate(hosts)]


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.9.9.9", "loopback address"),
        ("::1", "loopback address"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("localhost", "loopback name"),
        ("db.localhost", "loopback name"),
    ],
)
def test_a_target_on_the_node_itself_is_refused_naming_its_field(host: str, words: str) -> None:
    refused = targetsafety.refuse(_targets("203.0.113.1", host), allowed=False)
    assert refused is not None
    assert (refused.ready, refused.reason) == (False, model.Reason.TARGET_NOT_ALLOWED)
    assert refused.message.startswith(f"spec.targets[1].host {host!r} (target 't1') is")
    assert words in refused.message
    assert "NETHEALTH_ALLOW_NODE_LOCAL_TARGETS=true" in refused.message
    assert "operator.allowNodeLocalTargets" in refused.message


def test_a_node_address_is_refused_once_the_nodes_are_known() -> None:
    nodes = [
        {"status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.2"}]}},
        {"status": {"addresses": [{"type": "Hostname", "address": "Node-B"}]}},
    ]
    addresses = targetsafety.node_addresses(nodes)
    for host in ("192.0.2.2", "node-b"):
        refused = targetsafety.refuse(_targets(host), nodes=addresses, allowed=False)
        assert refused is not None
        assert "an address of a node" in refused.message
    assert targetsafety.refuse(_targets("192.0.2.3"), nodes=addresses, allowed=False) is None


def test_ordinary_targets_and_an_administrators_allowance_pass() -> None:
    ordinary = _targets("203.0.113.1", "198.51.100.7", "2001:db8::1", "kubernetes.default")
    assert targetsafety.refuse(ordinary, allowed=False) is None
    assert targetsafety.refuse(_targets("169.254.169.254"), allowed=True) is None


def test_every_refused_target_is_counted_in_the_message() -> None:
    refused = targetsafety.refuse(_targets("127.0.0.1", "169.254.169.254"), allowed=False)
    assert refused is not None
    assert "(and 1 more)" in refused.message


def test_the_allowance_is_an_operator_setting_off_by_default() -> None:
    assert settings.from_env({}).allow_node_local_targets is False
    env = {targetsafety.SETTING: "true"}
    assert settings.from_env(env).allow_node_local_targets is True
