"""Run `scenario.py` in a VM on a kernel of a given flavour and read back its record.

The VM's job runs as root inside the host's root filesystem (shared read-only), with
this checkout's venv Python, so the scenario and the probe are exactly the code under
test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import sys
from typing import Any

import pytest

from nethealth.kernelrepro import initramfs, kernel, source, vm

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
# seconds; a scenario run (eight steps) takes 80-110 s here: room for a loaded machine
VM_TIMEOUT = 360.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScenarioRun:
    """One kernel's trip through `scenario.py`, with the figures the README quotes."""

    kernel: kernel.Kernel
    record: dict[str, Any]  # scenario.json
    console: str
    boot_seconds: float | None
    vm_seconds: float

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.record["steps"] if s["name"] == name)

    def summary(self) -> str:
        """One line per step for the CI log: class, failures per CPU, top hints, time."""
        lines = []
        for step in self.record["steps"]:
            probe = step["probe"]
            cpus = (probe.get("namespaces") or {}).get("target", {}).get("cpus", {})
            per_cpu = ", ".join(f"CPU {c} {n['failures']}/{n['attempts']}" for c, n in cpus.items())
            hints = ", ".join(h["code"] for h in probe.get("hints", [])[:3]) or "-"
            lines.append(
                f"  {step['name']:<12} {probe.get('class')}: {per_cpu}; hints {hints};"
                f" probe {step['probe_seconds']} s"
            )
        return "\n".join(lines)


def missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "tests/kernel needs root (the VM shares / over 9p; namespaces inside)"
    if shutil.which(vm.QEMU) is None:
        return f"tests/kernel needs {vm.QEMU}: apt-get install qemu-system-x86"
    if not source.TARBALL.is_file():
        return f"tests/kernel needs {source.TARBALL}: apt-get install {source.PACKAGE}"
    if not initramfs.BUSYBOX.is_file():
        return "tests/kernel needs /bin/busybox: apt-get install busybox-static"
    absent = kernel.missing_build_tools()
    if absent:
        return f"tests/kernel needs to build kernels: apt-get install {' '.join(absent)}"
    return None


def job_script() -> str:
    """What the VM runs as root inside the host's (read-only) root filesystem."""
    venv_bin = pathlib.Path(sys.executable).parent
    return "\n".join([
        "set -eu",
        f"cd {REPO}",
        f"export PATH={venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "export PYTHONDONTWRITEBYTECODE=1",
        f"{sys.executable} {HERE / 'scenario.py'} /tmp/results",
        "",
    ])  # fmt: skip


def run_scenario(flavour: kernel.Flavour) -> ScenarioRun:
    """Get the kernel (cached or built), boot it, run the scenario, read its record."""
    built = kernel.ensure(flavour)
    with vm.boot(image=built.image, job=job_script(), timeout=VM_TIMEOUT, shares=[REPO]) as run:
        if run.timed_out or run.exit_code != 0:
            log = run.read("job.log") if (run.results / "job.log").exists() else ""
            what = "timed out" if run.timed_out else f"failed (exit {run.exit_code})"
            pytest.fail(
                f"the {flavour} VM {what}; job log:\n{log[-3000:]}\nconsole:\n{run.console[-3000:]}"
            )
        record = json.loads(run.read("scenario.json"))
    return ScenarioRun(
        kernel=built,
        record=record,
        console=run.console,
        boot_seconds=run.boot_seconds,
        vm_seconds=run.wall_seconds,
    )
