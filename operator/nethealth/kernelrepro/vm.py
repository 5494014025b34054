"""Boot a kernel under qemu (software emulation), run one job inside, collect its files.

The VM is ``-M microvm,acpi=off``: no firmware tables to describe and no PCI, so the
kernel stays tiny and boots in a second or two without KVM; with ACPI off qemu
announces the CPUs in an MP table (the default ``pc`` machine's firmware showed a
non-ACPI kernel only one) and the virtio-mmio devices on the command line. The host's
``/`` is shared read-only over virtio-9p, so the project's venv, its Python and
iproute2 work inside unchanged; a temporary results folder is shared writable and
holds the job script on the way in and its output on the way out.

``reboot=t`` with ``-no-reboot`` turns the guest's reboot into qemu exiting. A VM that
does not finish in time is killed; its process and the temporary folder never outlive
`boot` (a context manager).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Final

from nethealth.kernelrepro import assets, initramfs

QEMU: Final = "qemu-system-x86_64"
DEFAULT_TIMEOUT: Final = 110.0
# If the caller is killed outright (SIGKILL skips every `finally`), the kernel kills
# qemu too instead of leaving a VM running on a deleted results folder.
_WORKDIR_PREFIX: Final = "nethealth-vm."  # then the owner's pid, "." and a random part
_DIE_WITH_PARENT: Final = ("setpriv", "--pdeathsig", "KILL", "--")
_EXIT_LINE: Final = re.compile(r"^nethealth-vm: exit (\d+)\s*$", re.MULTILINE)
_BOOTED_LINE: Final = re.compile(r"^nethealth-vm: booted in ([\d.]+) s", re.MULTILINE)


class VmError(Exception):
    """qemu could not be started, or the VM ended without a result."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Run:
    """What one VM run left behind; ``results`` exists only inside `boot`'s block."""

    console: str  # the serial console (kernel log lines and init's progress lines)
    results: pathlib.Path  # the shared folder: job.log and whatever the job wrote
    exit_code: int | None  # the job's exit status; None if the VM never reported one
    boot_seconds: float | None  # kernel start to init, as the guest measured it
    wall_seconds: float  # qemu start to exit, as the host measured it
    timed_out: bool

    def read(self, name: str) -> str:
        return (self.results / name).read_text(encoding="utf-8", errors="replace")


def qemu_argv(
    *,
    image: pathlib.Path,
    initrd: pathlib.Path,
    results: pathlib.Path,
    cpus: int,
    memory_mib: int,
    shares: Sequence[pathlib.Path] = (),
) -> list[str]:
    """The qemu command line: microvm, serial console on stdout, 9p shares.

    ``shares`` are host folders mounted read-only at the same path inside the VM, over
    the fresh tmpfs that the VM puts on /tmp and /run: a checkout under /tmp (CI's clone
    may be one) would otherwise be invisible there.
    """
    extra: list[str] = []
    append = "console=ttyS0 reboot=t panic=-1 loglevel=4"
    for index, share in enumerate(shares):
        if not share.is_absolute() or any(c.isspace() or c == ":" for c in str(share)):
            raise VmError(f"share {share}: must be an absolute path without spaces or ':'")
        tag = f"share{index}"
        fsdev = f"local,id={tag},path={share},security_model=none,readonly=on,multidevs=remap"
        extra += [
            "-fsdev", fsdev,
            "-device", f"virtio-9p-device,fsdev={tag},mount_tag={tag}",
        ]  # fmt: skip
        append += f" nethealth.share={tag}:{share}"
    return [
        QEMU,
        "-M", "microvm,acpi=off",
        "-cpu", "max",
        "-smp", str(cpus),
        "-m", str(memory_mib),
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-serial", "stdio",
        "-kernel", str(image),
        "-initrd", str(initrd),
        "-append", append,
        "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device", "virtio-9p-device,fsdev=hostroot,mount_tag=hostroot",
        "-fsdev", f"local,id=results,path={results},security_model=none",
        "-device", "virtio-9p-device,fsdev=results,mount_tag=results",
        *extra,
    ]  # fmt: skip


@contextlib.contextmanager
def boot(
    *,
    image: pathlib.Path,
    job: str,
    files: dict[str, bytes] | None = None,
    cpus: int = 2,
    memory_mib: int = 1024,
    timeout: float = DEFAULT_TIMEOUT,
    shares: Sequence[pathlib.Path] = (),
) -> Iterator[Run]:
    """Boot ``image``, run ``job`` (a shell script, run as root inside the host's root
    filesystem with the results folder at /tmp/results) and yield what it left.

    ``files`` are put into the results folder first (e.g. inputs for the job). The VM
    has exited when this yields; the folder is removed when the block ends.
    """
    if shutil.which(QEMU) is None:
        raise VmError(f"{QEMU} is not installed: `apt-get install qemu-system-x86`")
    _remove_orphaned_workdirs()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}."))
    try:
        results = workdir / "results"
        results.mkdir()
        (results / "job.sh").write_text(job)
        for name, data in (files or {}).items():
            (results / name).write_bytes(data)
        initrd = initramfs.write(workdir / "initramfs.cpio.gz", init=assets.read(assets.INIT))
        argv = qemu_argv(
            image=image,
            initrd=initrd,
            results=results,
            cpus=cpus,
            memory_mib=memory_mib,
            shares=shares,
        )
        yield _run(argv, results=results, timeout=timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _remove_orphaned_workdirs() -> None:
    """Folders of runs whose process was killed outright (qemu died with it)."""
    for leftover in pathlib.Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*.*"):
        owner = leftover.name[len(_WORKDIR_PREFIX) :].split(".", 1)[0]
        if owner.isdigit() and not pathlib.Path(f"/proc/{owner}").exists():
            shutil.rmtree(leftover, ignore_errors=True)


def _run(argv: Sequence[str], *, results: pathlib.Path, timeout: float) -> Run:
    started = time.monotonic()
    process = subprocess.Popen(
        [*_DIE_WITH_PARENT, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed as a whole on timeout
    )
    timed_out = False
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        output = _kill(process)
    finally:
        if process.poll() is None:
            _kill(process)
    console = output.decode("utf-8", errors="replace").replace("\r\n", "\n")
    exit_match = _EXIT_LINE.search(console)
    booted = _BOOTED_LINE.search(console)
    return Run(
        console=console,
        results=results,
        exit_code=int(exit_match.group(1)) if exit_match else None,
        boot_seconds=float(booted.group(1)) if booted else None,
        wall_seconds=time.monotonic() - started,
        timed_out=timed_out,
    )


def _kill(process: subprocess.Popen[bytes]) -> bytes:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    output, _ = process.communicate()
    return output
