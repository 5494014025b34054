"""The plugin's flags: validated like a NetHealthCheck, errors naming the flag, exit 64
before any cluster is contacted."""

from __future__ import annotations

import argparse
import datetime

import pytest

from nethealth import cli
from nethealth.plugin import entry, options
from nethealth.probe import types
from nethealth.remediation import hostnetwork

# A kubeconfig that does not exist: a command that contacts the cluster fails on it with
# exit 1 or 2, so exit 64 proves the flag was refused first.
NOWHERE = ["--kubeconfig", "/nonexistent/kubeconfig"]


def spec(**overrides):
    values = {
        "targets": [types.Target(name="api", host="203.0.113.1", port=443)],
        "attempts": 60,
        "spread": 30.0,
        "connect_timeout": 2.0,
        "timeout": 120.0,
        **overrides,
    }
    return options.probe_spec(**values)


def test_targets_are_parsed_as_the_probe_parses_them():
    parsed = options.targets(["api=203.0.113.1:443", "198.51.100.7:80", "[2001:db8::1]:8080"])
    assert parsed == (
        types.Target(name="api", host="203.0.113.1", port=443),
        types.Target(name="198.51.100.7:80", host="198.51.100.7", port=80),
        types.Target(name="[2001:db8::1]:8080", host="2001:db8::1", port=8080),
    )


def test_the_probe_spec_carries_the_flags_and_the_targets_as_typed():
    made = spec(
        targets=options.targets(["198.51.100.7:80"]),
        attempts=30,
        spread=6.5,
        connect_timeout=0.5,
        timeout=45,
    )
    assert made.targets == (types.Target(name="198.51.100.7:80", host="198.51.100.7", port=80),)
    assert made.probe.attempts == 30
    assert made.probe.spread == datetime.timedelta(seconds=6.5)
    assert made.probe.timeout == datetime.timedelta(seconds=0.5)
    assert made.probe.deadline == datetime.timedelta(seconds=45)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"timeout": 5.0}, "--timeout must be at least 10s"),
        ({"timeout": 20.0}, "--timeout must be longer than --spread plus --connect-timeout"),
        ({"spread": 0.5}, "--spread must be at least 1s"),
        ({"connect_timeout": 0.01}, "--connect-timeout must be at least 0.1s"),
        ({"attempts": 601}, "--attempts must be from 1 to 600"),
        ({"targets": []}, "--target: give at least one"),
        (
            {"targets": [types.Target(name="x", host="Not_A_Host", port=80)]},
            "--target Not_A_Host:80: host must be an IP address or a lowercase DNS name",
        ),
        (
            {"targets": [types.Target(name="a", host="192.0.2.1", port=1)] * 2},
            "--target: names must be unique",
        ),
    ],
)
def test_values_a_check_would_refuse_are_refused_naming_the_flag(overrides, expected):
    with pytest.raises(options.UsageError) as info:
        spec(**overrides)
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.2", 0.2), ("20%", 0.2), ("0", 0.0), ("12.5%", 0.125)],
)
def test_a_failure_rate_is_a_fraction_or_a_percentage(value, expected):
    assert options.rate(value, flag="--failure-rate") == pytest.approx(expected)


@pytest.mark.parametrize("value", ["1", "100%", "-0.1", "abc", ""])
def test_a_failure_rate_outside_zero_to_one_is_refused(value):
    with pytest.raises(options.UsageError, match="--failure-rate"):
        options.rate(value, flag="--failure-rate")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("deployment/web", hostnetwork.Kind.DEPLOYMENT),
        ("deploy/web", hostnetwork.Kind.DEPLOYMENT),
        ("Deployment/web", hostnetwork.Kind.DEPLOYMENT),
        ("sts/web", hostnetwork.Kind.STATEFULSET),
        ("statefulsets/web", hostnetwork.Kind.STATEFULSET),
        ("ds/web", hostnetwork.Kind.DAEMONSET),
    ],
)
def test_a_workload_is_kind_slash_name_with_kubectls_short_names(text, kind):
    assert options.workload(text) == (kind, "web")


@pytest.mark.parametrize("text", ["web", "pod/web", "replicaset/web", "deployment/", "deploy/Web"])
def test_a_workload_that_cannot_be_reverted_is_refused_listing_the_kinds(text):
    with pytest.raises(options.UsageError) as info:
        options.workload(text)
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["diagnose", "web", "--spread", "0"], "--spread"),
        (["diagnose", "web", "--spread", "200"], "--timeout"),
        (["diagnose", "web", "--attempts", "many"], "--attempts"),
        (["diagnose", "web", "--target", "no-port"], "--target"),
        (["diagnose", "web", "-o", "wide"], "-o/--output"),
        (["diagnose", "web", "--failure-rate", "2"], "--failure-rate"),
        (["revert", "pod/web"], "KIND/NAME"),
    ],
)
def test_bad_flags_exit_64_naming_the_flag_before_contacting_the_cluster(argv, flag, capsys):
    assert cli.main([*argv, *NOWHERE]) == options.EXIT_USAGE
    assert flag in capsys.readouterr().err


def test_argparse_errors_exit_64_too(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["diagnose"])
    assert info.value.code == options.EXIT_USAGE
    assert "POD" in capsys.readouterr().err


def test_the_kubectl_plugin_offers_exactly_the_plugin_commands(capsys):
    with pytest.raises(SystemExit) as info:
        entry.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kubectl nethealth")
    (commands,) = [
        action.choices
        for action in entry.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    assert set(commands) == {"diagnose", "status", "revert"}
    assert all(name in out for name in commands)


def test_the_kubectl_plugin_refuses_other_commands_with_64(capsys):
    with pytest.raises(SystemExit) as info:
        entry.main(["operator"])
    assert info.value.code == options.EXIT_USAGE
    assert "invalid choice: 'operator'" in capsys.readouterr().err


def test_the_plugin_runs_the_same_code_as_the_nethealth_command(capsys):
    assert entry.main(["diagnose", "web", "--spread", "0", *NOWHERE]) == options.EXIT_USAGE
    assert "--spread" in capsys.readouterr().err
