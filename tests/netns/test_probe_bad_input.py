"""Bad input and broken environments: a clear message, an Inconclusive result, no leftovers.

Usage errors exit 64 (EX_USAGE); everything the probe could not measure exits 2 with
class Inconclusive and a reason naming what is wrong — never a network verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import probe_cli
import pytest


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"targets": ["198.51.100.7"]}, "--target '198.51.100.7'"),
        ({"targets": ["[2001:db8::1:80"]}, "--target '[2001:db8::1:80'"),
        ({"attempts": 0}, "--attempts '0'"),
        ({"where": ["--pod-uid", "nope"]}, "--pod-uid 'nope'"),
        ({"where": []}, "exactly one of --pod-uid, --pid, --netns"),
    ],
)
def test_usage_errors_exit_64_naming_the_flag_with_an_inconclusive_document(
    node, tmp_path, change, complaint
):
    argv = probe_cli.argv_for(node, termination_log=tmp_path / "log", **change)
    if change.get("where") == []:
        argv.remove("--netns")
        argv.remove(node.pod_netns)
    result = probe_cli.run(argv)
    assert result.code == 64
    assert complaint in result.stderr
    assert result.klass == "Inconclusive"
    assert complaint in result.document["reason"]
    assert json.loads(result.termination_log or "")["class"] == "Inconclusive"


def test_an_invalid_choice_is_a_usage_error_too(node, tmp_path):
    argv = probe_cli.argv_for(node, termination_log=tmp_path / "log")
    argv[argv.index("json")] = "xml"
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 64
    assert "--output" in done.stderr


def test_a_missing_namespace_is_inconclusive(node, tmp_path):
    result = probe_cli.probe(node, tmp_path, where=["--netns", f"{node.pod_netns}-missing"])
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert f"{node.pod_netns}-missing: no such network namespace" in result.document["reason"]


def test_an_unreachable_control_namespace_makes_pod_faults_inconclusive(node, tmp_path):
    node.add_pod_rule_unreachable()
    argv = probe_cli.argv_for(node, termination_log=tmp_path / "log")
    argv[argv.index(node.fresh_netns)] = "/nonexistent/ns"
    result = probe_cli.run(argv)
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert result.namespace("control")["error"] == "no such network namespace: /nonexistent/ns"


def test_missing_cap_sys_admin_is_inconclusive_naming_the_capability(node, tmp_path):
    setpriv = shutil.which("setpriv")
    assert setpriv, "util-linux setpriv is needed to drop capabilities"
    argv = probe_cli.argv_for(node, termination_log=tmp_path / "log")
    result = probe_cli.run(argv, prefix=[setpriv, "--bounding-set=-sys_admin", "--"])
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert "needs CAP_SYS_ADMIN" in result.document["reason"]


def test_a_namespace_vanishing_mid_run_is_inconclusive_and_leaves_nothing_behind(node, tmp_path):
    # The target is a process with a namespace of its own; it exits during the window.
    holder = node.start(node.pod, "unshare", "--net", "sleep", "300")
    time.sleep(0.2)
    marker = str(tmp_path / "vanishing-log")
    argv = probe_cli.argv_for(node, where=["--pid", str(holder.pid)], spread=3.0)
    argv += ["--termination-log", marker]
    threading.Timer(1.5, holder.kill).start()
    result = probe_cli.run(argv)
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert "vanished during the run" in result.document["reason"]
    assert probe_cli.leftover_processes(marker) == []


def test_a_name_in_the_hosts_file_is_answered_from_it_and_connected_to_everywhere(node, tmp_path):
    # localhost comes from /etc/hosts, as an application's resolver reads it first: no DNS
    # traffic. Nothing listens on loopback in the namespaces, so every one is refused, at
    # the same literal addresses.
    result = probe_cli.probe(node, tmp_path, targets=[f"local=localhost:{node.port}"])
    assert set(result.document["targets"][0]["addresses"]) <= {"127.0.0.1", "::1"}
    (local,) = result.document["dns"]
    assert (local["status"], local["tried"]) == ("ok", ["localhost"])
    assert result.klass == "Upstream"


def test_a_control_that_is_the_target_namespace_itself_is_not_compared(node, tmp_path):
    # E.g. the probe was started inside the target pod: comparing it with itself would
    # turn a pod fault into a node fault.
    node.add_pod_rule_unreachable()
    argv = probe_cli.argv_for(node, termination_log=tmp_path / "log")
    argv[argv.index(node.fresh_netns)] = node.pod_netns
    result = probe_cli.run(argv)
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert "same network namespace as the target's" in result.namespace("control")["error"]
    assert result.namespace("control")["attempts"] == 0


def test_a_probe_killed_mid_run_leaves_no_child_measuring_on(node, tmp_path):
    marker = str(tmp_path / "killed-log")
    argv = probe_cli.argv_for(node, spread=5.0)
    argv += ["--termination-log", marker]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    assert len(probe_cli.leftover_processes(marker)) >= 4  # the CLI and its children
    process.kill()
    process.wait()
    deadline = time.monotonic() + 2.0
    while probe_cli.leftover_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe_cli.leftover_processes(marker) == []
