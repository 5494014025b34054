"""The probe's command line: what is accepted, and errors that name the flag."""

from __future__ import annotations

import pytest

from nethealth import cli
from nethealth.probe import command, orchestrate

UID = "3f1c9e2a-7b4d-4c1e-9a2b-0d5e6f7a8b9c"
VALID = {
    "pod_uid": None,
    "container_ids": (),
    "pid": None,
    "netns": "/var/run/netns/x",
    "control_netns": "/proc/self/ns/net",
    "host_netns": "/proc/1/ns/net",
    "targets": ["web=198.51.100.7:80", "[2001:db8::7]:443"],
    "attempts": "60",
    "spread": "30",
    "timeout": "3",
}


def test_a_valid_command_line_becomes_a_request():
    request = orchestrate.request_from(**VALID)
    assert [t.name for t in request.targets] == ["web", "[2001:db8::7]:443"]
    assert (request.attempts, request.spread, request.timeout) == (60, 30.0, 3.0)
    assert (request.windows, request.failure_rate) == (1, 0.2)  # a caller that does not say


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"netns": None}, "exactly one of --pod-uid, --pid, --netns"),
        ({"pid": "12"}, "exactly one of --pod-uid, --pid, --netns (got --pid, --netns)"),
        ({"netns": None, "pid": "x"}, "--pid 'x': expected a whole number"),
        ({"netns": None, "pid": "0"}, "--pid '0': expected a whole number from 1"),
        ({"netns": None, "pod_uid": "abc"}, "--pod-uid 'abc' is not a pod UID"),
        ({"container_ids": ["a" * 64]}, "--container-id needs --pod-uid"),
        ({"netns": None, "pod_uid": UID, "container_ids": ["zz"]}, "--container-id 'zz'"),
        ({"targets": []}, "give at least one --target"),
        ({"targets": ["a=198.51.100.7:80", "a=198.51.100.8:80"]}, "names must be unique"),
        ({"targets": [f"198.51.100.7:{p}" for p in range(1, 40)]}, "at most 32 targets"),
        ({"attempts": "0"}, "--attempts '0': expected a whole number from 1 to 10000"),
        ({"attempts": "1.5"}, "--attempts '1.5'"),
        ({"spread": "-1"}, "--spread '-1': expected a number of seconds"),
        ({"spread": "nan"}, "--spread 'nan'"),
        ({"timeout": "0"}, "--timeout '0'"),
        ({"windows": "0"}, "--windows '0': expected a whole number from 1 to 10"),
        ({"failure_rate": "1"}, "--failure-rate '1': expected a share between 0 and 1"),
        ({"failure_rate": "x"}, "--failure-rate 'x'"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_flag(change, complaint):
    with pytest.raises(orchestrate.UsageError) as info:
        orchestrate.request_from(**{**VALID, **change})
    assert complaint in str(info.value)


@pytest.mark.parametrize(
    ("klass", "code"),
    [
        ("Healthy", 0),
        ("PodNamespace", 1),
        ("NodeNetwork", 1),
        ("Upstream", 1),
        ("Inconclusive", 2),
        (None, 2),
    ],
)
def test_exit_codes_tell_healthy_degraded_and_inconclusive_apart(klass, code):
    assert command.exit_code(klass) == code


def test_argparse_errors_in_the_probe_exit_64_not_2_which_means_inconclusive(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["probe", "--netns", "/x", "--target", "198.51.100.7:80", "--output", "xml"])
    assert info.value.code == 64
    assert "--output" in capsys.readouterr().err


def test_the_termination_log_is_skipped_when_its_directory_is_missing(tmp_path):
    missing = tmp_path / "no-such-dir" / "termination-log"
    command.write_termination_log("{}", path=str(missing))
    assert not missing.parent.exists()
    present = tmp_path / "termination-log"
    command.write_termination_log('{"class":"Healthy"}', path=str(present))
    assert present.read_text() == '{"class":"Healthy"}'
