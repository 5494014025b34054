"""Teardown bookkeeping: which mounts, chains and processes belong to a dev node."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

from nethealth.devcluster import processes, teardown

MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:45 / /srv/dev\\040node/kubelet rw shared:40 - none /dev/vda rw
91 90 0:46 / /srv/dev\\040node/kubelet/pods/x/volumes/token rw - tmpfs tmpfs rw
92 22 0:47 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
"""

IPTABLES_NAT = """\
-P PREROUTING ACCEPT
-N KUBE-SERVICES
-N KUBE-SVC-NPX46M4PTMTKRN6Y
-N OTHER-CHAIN
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -j OTHER-CHAIN
-A KUBE-SERVICES -d 203.0.113.1/32 -p tcp -j KUBE-SVC-NPX46M4PTMTKRN6Y
"""


def test_mountinfo_paths_with_spaces_are_unescaped_and_typed():
    mounts = teardown.parse_mountinfo(MOUNTINFO)
    assert (
        teardown.Mount(
            mount_point=pathlib.Path("/srv/dev node/kubelet/pods/x/volumes/token"), fs_type="tmpfs"
        )
        in mounts
    )
    assert {m.fs_type for m in mounts} == {"ext4", "none", "tmpfs", "cgroup"}


def test_only_kube_chains_are_ours_to_remove():
    assert teardown.kube_chains(IPTABLES_NAT) == ["KUBE-SERVICES", "KUBE-SVC-NPX46M4PTMTKRN6Y"]


def test_jumps_from_builtin_chains_into_kube_chains_are_deleted_with_their_quoted_comments():
    assert teardown.jumps_into_kube_chains(IPTABLES_NAT) == [
        [
            "-D",
            "PREROUTING",
            "-m",
            "comment",
            "--comment",
            "kubernetes service portals",
            "-j",
            "KUBE-SERVICES",
        ],
    ]


def _spawn_family(tmp_path: pathlib.Path) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
    # A component that forked a helper: stopping it must take the helper too.
    pid_file = tmp_path / "family.pid"
    child_pid = tmp_path / "child"
    script = (
        "import subprocess, sys, time; p = subprocess.Popen(['sleep', '300']); "
        "open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(300)"
    )
    process = processes.spawn(
        argv=[sys.executable, "-c", script, str(child_pid)],
        log=tmp_path / "family.log",
        pid_file=pid_file,
    )
    deadline = time.monotonic() + 10
    while not child_pid.exists() or not child_pid.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return process, pid_file


def test_stopping_a_pid_file_stops_the_whole_process_group_and_forgets_it(tmp_path):
    process, pid_file = _spawn_family(tmp_path)
    child = int((tmp_path / "child").read_text())
    try:
        processes.stop_pid_files([pid_file], grace=5)
        process.wait(timeout=5)
        assert not pid_file.exists()
        deadline = time.monotonic() + 5
        while processes.start_time_of(child) is not None and time.monotonic() < deadline:
            time.sleep(0.02)  # the orphaned child is reaped by init
        assert processes.start_time_of(child) is None or _is_zombie(child)
    finally:
        process.kill()
        process.wait()


def _is_zombie(pid: int) -> bool:
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] == "Z"


def test_a_pid_file_whose_process_was_replaced_never_signals_the_stranger(tmp_path):
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        pid_file = tmp_path / "stale.pid"
        started = processes.start_time_of(stranger.pid)
        assert started is not None
        pid_file.write_text(f"{stranger.pid} {started - 1}\n")  # same pid, another start
        processes.stop_pid_files([pid_file], grace=1)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_leftover_components_are_found_by_executable_and_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    sleeper = "import time; time.sleep(300)"
    leftover = subprocess.Popen([sys.executable, "-c", sleeper, f"--config={run_dir}/a.conf"])
    unrelated = subprocess.Popen([sys.executable, "-c", sleeper, f"--config={tmp_path}/b.conf"])
    python = pathlib.Path(os.path.realpath(sys.executable)).name
    try:
        deadline = time.monotonic() + 5
        while True:
            found = processes.find_mentioning(needle=f"{run_dir}/", executables={python})
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert [r.pid for r in found] == [leftover.pid]
    finally:
        for process in (leftover, unrelated):
            process.kill()
            process.wait()
