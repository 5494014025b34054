"""Finding a pod's network namespace from its UID: every cgroup layout the kubelet makes."""

from __future__ import annotations

import pathlib

import pytest

from nethealth.probe import podnetns

UID = "3f1c9e2a-7b4d-4c1e-9a2b-0d5e6f7a8b9c"
UID_ = UID.replace("-", "_")
APP = "a" * 64
PAUSE = "b" * 64
SIDECAR = "c" * 64

CGROUPFS_V1 = f"""\
12:pids:/kubepods/burstable/pod{UID}/{APP}
11:memory:/kubepods/burstable/pod{UID}/{APP}
5:cpu,cpuacct:/kubepods/burstable/pod{UID}/{APP}
1:name=systemd:/kubepods/burstable/pod{UID}/{APP}
0::/
"""
CGROUPFS_V1_GUARANTEED = f"""\
4:memory:/kubepods/pod{UID}/{APP}
1:name=systemd:/kubepods/pod{UID}/{APP}
"""
CGROUPFS_V2 = f"0::/kubepods/besteffort/pod{UID}/{APP}\n"
SYSTEMD_V1 = f"""\
10:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{APP}.scope
1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{APP}.scope
"""
SYSTEMD_V2 = (
    f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice"
    f"/cri-containerd-{APP}.scope\n"
)
SYSTEMD_V2_GUARANTEED_CRIO = f"0::/kubepods.slice/kubepods-pod{UID_}.slice/crio-{APP}.scope\n"
SYSTEMD_V2_DOCKER = f"0::/kubepods.slice/kubepods-pod{UID_}.slice/docker-{APP}.scope\n"
NESTED_IN_A_CONTAINERIZED_KUBELET = f"0::/docker/{'d' * 64}/kubepods/burstable/pod{UID}/{APP}\n"
# The probe's container has a cgroup namespace of its own (containerd's default on cgroup
# v2): other processes' paths are shown relative to its root, climbing out with "..".
# Seen in the wild (docker on Ubuntu 21.10; a node agent's fixture, without the slash):
NAMESPACED_SYSTEMD_V2 = f"0::/../../kubepods-besteffort-pod{UID_}.slice/docker-{APP}.scope\n"
NAMESPACED_SYSTEMD_V2_NO_SLASH = (
    f"0::../../../kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"
    f"/cri-containerd-{APP}.scope\n"
)
# With the cgroupfs driver the climb can end below "kubepods": the probe in besteffort,
# the pod in burstable (/kubepods/burstable/pod<uid>/<id>) or guaranteed (/kubepods/...).
NAMESPACED_CGROUPFS_V2 = f"0::/../../../burstable/pod{UID}/{APP}\n"
NAMESPACED_CGROUPFS_V2_GUARANTEED = f"0::/../../../pod{UID}/{APP}\n"
NAMESPACED_CGROUPFS_V1 = f"""\
12:pids:/../../../burstable/pod{UID}/{APP}
4:memory:/../../../burstable/pod{UID}/{APP}
0::/
"""
# kind: the kubelet's cgroup root is /kubelet, so systemd names every slice "kubelet-...",
# and the node is itself a container (nested below its own scope on the machine).
KIND = (
    "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice"
    f"/kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{APP}.scope\n"
)
KIND_SEEN_FROM_THE_MACHINE = (
    f"0::/system.slice/docker-{'d' * 64}.scope/kubelet.slice/kubelet-kubepods.slice"
    f"/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod{UID_}.slice"
    f"/cri-containerd-{APP}.scope\n"
)
NOT_A_POD = """\
12:pids:/user.slice/user-0.slice/session-1.scope
0::/system.slice/containerd.service
"""
POD_LOOKALIKE_OUTSIDE_KUBEPODS = f"0::/system.slice/pod{UID}/{APP}\n"


@pytest.mark.parametrize(
    "text",
    [
        CGROUPFS_V1,
        CGROUPFS_V1_GUARANTEED,
        CGROUPFS_V2,
        SYSTEMD_V1,
        SYSTEMD_V2,
        SYSTEMD_V2_GUARANTEED_CRIO,
        SYSTEMD_V2_DOCKER,
        NESTED_IN_A_CONTAINERIZED_KUBELET,
        NAMESPACED_SYSTEMD_V2,
        NAMESPACED_SYSTEMD_V2_NO_SLASH,
        NAMESPACED_CGROUPFS_V2,
        NAMESPACED_CGROUPFS_V2_GUARANTEED,
        NAMESPACED_CGROUPFS_V1,
        KIND,
        KIND_SEEN_FROM_THE_MACHINE,
    ],
    ids=[
        "cgroupfs-v1",
        "cgroupfs-v1-guaranteed",
        "cgroupfs-v2",
        "systemd-v1",
        "systemd-v2",
        "systemd-v2-crio",
        "systemd-v2-docker",
        "nested",
        "cgroupns-systemd-v2",
        "cgroupns-systemd-v2-no-slash",
        "cgroupns-cgroupfs-v2",
        "cgroupns-cgroupfs-v2-guaranteed",
        "cgroupns-cgroupfs-v1",
        "kind",
        "kind-from-the-machine",
    ],
)
def test_every_kubelet_layout_yields_the_pod_uid_and_container_id(text):
    parsed = podnetns.parse_cgroup_file(text)
    assert parsed is not None
    assert parsed.pod_uid == UID
    assert parsed.container_id == APP


@pytest.mark.parametrize("text", [NOT_A_POD, POD_LOOKALIKE_OUTSIDE_KUBEPODS, "", "garbage"])
def test_processes_outside_kubepods_belong_to_no_pod(text):
    assert podnetns.parse_cgroup_file(text) is None


def test_systemd_runtime_prefix_is_kept_apart_from_the_id():
    parsed = podnetns.parse_cgroup_file(SYSTEMD_V2)
    assert parsed is not None
    assert parsed.runtime == "cri-containerd"


def test_a_process_in_the_pod_cgroup_itself_has_no_container_id():
    parsed = podnetns.parse_cgroup_path(f"/kubepods/burstable/pod{UID}")
    assert parsed == podnetns.PodCgroup(pod_uid=UID, container_id=None, runtime="")


@pytest.mark.parametrize("uid", ["", "not-a-uid", UID[:-1], UID + "0", "../../etc"])
def test_malformed_pod_uid_is_rejected_naming_the_flag(uid):
    with pytest.raises(ValueError, match="--pod-uid"):
        podnetns.normalize_uid(uid)


def test_pod_uid_is_accepted_in_upper_case_and_with_underscores():
    assert podnetns.normalize_uid(UID.upper()) == UID
    assert podnetns.normalize_uid(UID_) == UID


def test_container_id_is_accepted_in_pod_status_form():
    assert podnetns.normalize_container_id(f"containerd://{APP}") == APP


def test_malformed_container_id_is_rejected_naming_the_flag():
    with pytest.raises(ValueError, match="--container-id"):
        podnetns.normalize_container_id("containerd://xyz")


# --- scanning a /proc tree -------------------------------------------------------------


def _process(
    proc: pathlib.Path, *, pid: int, cgroup: str, argv: list[str], started: int | None = None
) -> None:
    directory = proc / str(pid)
    directory.mkdir()
    (directory / "cgroup").write_text(cgroup)
    if started is not None:
        # The real layout: "pid (comm) state ppid ..." with starttime as field 22.
        rest = ["S", "1", *["0"] * 17, str(started), "0"]
        (directory / "stat").write_text(f"{pid} ({argv[0]}) {' '.join(rest)}\n")
    (directory / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (directory / "comm").write_text(pathlib.PurePath(argv[0]).name[:15] + "\n")


@pytest.fixture
def proc(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "proc"
    root.mkdir()
    (root / "self").mkdir()  # non-numeric entries are not processes
    _process(root, pid=1, cgroup="0::/init.scope\n", argv=["/sbin/init"])
    _process(root, pid=40, cgroup=f"0::/kubepods/burstable/pod{UID}/{PAUSE}\n", argv=["/pause"])
    _process(root, pid=55, cgroup=f"0::/kubepods/burstable/pod{UID}/{APP}\n", argv=["python3"])
    _process(root, pid=60, cgroup=f"0::/kubepods/burstable/pod{UID}/{SIDECAR}\n", argv=["go2rtc"])
    return root


def test_an_application_process_is_preferred_over_the_sandbox(proc):
    found = podnetns.find(pod_uid=UID, proc=str(proc))
    assert (found.pid, found.container_id, found.command, found.sandbox) == (
        55,
        APP,
        "python3",
        False,
    )
    assert found.netns == "/proc/55/ns/net"


def test_container_ids_select_the_process(proc):
    found = podnetns.find(pod_uid=UID, container_ids=[f"containerd://{SIDECAR}"], proc=str(proc))
    assert found.pid == 60


def test_a_short_container_id_is_enough(proc):
    found = podnetns.find(pod_uid=UID, container_ids=[SIDECAR[:12]], proc=str(proc))
    assert found.pid == 60


def test_the_sandbox_is_used_when_it_is_the_only_process(tmp_path):
    root = tmp_path / "proc"
    root.mkdir()
    _process(root, pid=40, cgroup=f"0::/kubepods/pod{UID}/{PAUSE}\n", argv=["/pause"])
    found = podnetns.find(pod_uid=UID, proc=str(root))
    assert (found.pid, found.sandbox) == (40, True)


def test_unknown_pod_uid_is_not_found_with_a_reason(proc):
    other = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(podnetns.PodNotFoundError, match=f"no process of pod {other}.*hostPID"):
        podnetns.find(pod_uid=other, proc=str(proc))


def test_unknown_container_of_a_known_pod_names_the_containers_found(proc):
    with pytest.raises(podnetns.PodNotFoundError, match=f"none in container.*{APP}"):
        podnetns.find(pod_uid=UID, container_ids=["e" * 64], proc=str(proc))


def test_a_process_that_vanished_during_the_scan_is_skipped(proc):
    (proc / "55" / "cmdline").unlink()  # what the kernel shows once a process is gone
    found = podnetns.find(pod_uid=UID, proc=str(proc))
    assert found.pid == 60


def test_the_longest_running_process_wins_even_after_pid_wraparound(tmp_path):
    root = tmp_path / "proc"
    root.mkdir()
    cgroup = f"0::/kubepods/burstable/pod{UID}/{APP}\n"
    _process(root, pid=31000, cgroup=cgroup, argv=["sh"], started=1_000)
    # A shell loop's short-lived child, born after PIDs wrapped: a lower PID, but younger.
    _process(root, pid=210, cgroup=cgroup, argv=["sleep"], started=9_000)
    assert podnetns.find(pod_uid=UID, proc=str(root)).pid == 31000
