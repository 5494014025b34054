"""The kernel tier: boot kernels built from Debian's source under qemu and run the
seed incident's steps inside (``scenario.py``), once per kernel per session.

Prerequisites (root, qemu, Debian's ``linux-source-6.1``, busybox-static, a compiler
toolchain with flex/bison/bc) are checked here: outside CI a missing one skips the
tier with the reason, in CI (``CI=true``) it fails it. A cold run builds two kernels
(about five minutes each on two cores, cached afterwards), so the tier is the slowest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
import vmrun

from nethealth.kernelrepro import kernel


@pytest.fixture(scope="session")
def prerequisites() -> None:
    reason = vmrun.missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"missing prerequisite in CI: {reason}")
    pytest.skip(reason)


def _session_run(flavour: kernel.Flavour) -> Callable[..., vmrun.ScenarioRun]:
    @pytest.fixture(scope="session")
    def fixture(prerequisites: None) -> vmrun.ScenarioRun:
        del prerequisites
        began = time.monotonic()
        result = vmrun.run_scenario(flavour)
        print(
            f"\n{flavour} kernel: {result.kernel.seconds:.0f} s to get"
            f" ({'built' if result.kernel.built else 'cached'}), VM {result.vm_seconds:.1f} s"
            f" (boot {result.boot_seconds} s), total {time.monotonic() - began:.0f} s\n"
            + result.summary()
        )
        return result

    return fixture


regression_run = _session_run(kernel.Flavour.REGRESSION)
control_run = _session_run(kernel.Flavour.CONTROL)
