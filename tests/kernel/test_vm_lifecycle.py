"""A VM that hangs is killed at its deadline and leaves no process and no files."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

from nethealth.kernelrepro import kernel, vm

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(3600)]  # cold: a kernel build first


def qemu_processes_using(folder: pathlib.Path) -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if argv[0].endswith(vm.QEMU.encode()) and any(str(folder).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


def test_a_vm_that_does_not_finish_is_killed_at_its_deadline(prerequisites) -> None:
    image = kernel.ensure(kernel.Flavour.CONTROL).image
    began = time.monotonic()
    with vm.boot(image=image, job="echo started; sleep 600\n", timeout=12) as run:
        folder = run.results
        assert run.timed_out
        assert run.exit_code is None
        assert "nethealth-vm: job starts" in run.console
        assert not qemu_processes_using(folder)
    assert time.monotonic() - began < 30
    assert not folder.exists()
    assert not folder.parent.exists()


def test_a_job_failure_is_reported_with_its_exit_code_and_log(prerequisites) -> None:
    image = kernel.ensure(kernel.Flavour.CONTROL).image
    with vm.boot(image=image, job="echo 'no such thing' >&2; exit 3\n") as run:
        assert not run.timed_out
        assert run.exit_code == 3
        assert "no such thing" in run.read("job.log")
        assert run.boot_seconds is not None


BOOT_AND_HANG = """
import sys
from nethealth.kernelrepro import kernel, vm
image = kernel.ensure(kernel.Flavour.CONTROL).image
with vm.boot(image=image, job="sleep 600\\n", timeout=300):
    pass
"""


def test_a_vm_dies_with_its_killed_parent_and_the_next_run_removes_its_folder(
    prerequisites,
) -> None:
    kernel.ensure(kernel.Flavour.CONTROL)  # a cold build must not eat the deadline below
    parent = subprocess.Popen([sys.executable, "-c", BOOT_AND_HANG])
    try:
        folder = _wait_for(lambda: _workdir_of(parent.pid), seconds=20)
        assert _wait_for(lambda: qemu_processes_using(folder), seconds=20)
    finally:
        parent.kill()
        parent.wait()
    assert _wait_for(lambda: not qemu_processes_using(folder), seconds=10)
    with vm.boot(image=kernel.ensure(kernel.Flavour.CONTROL).image, job="true\n") as run:
        assert run.exit_code == 0
    assert not folder.exists()


def _workdir_of(pid: int) -> pathlib.Path | None:
    found = list(pathlib.Path(tempfile.gettempdir()).glob(f"nethealth-vm.{pid}.*"))
    return found[0] if found else None


def _wait_for(condition, *, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    return condition()
