"""The in-place cure against the real bug: ``255.255.255.255/32 dev eth0`` in the pod's
namespace, added by ``nethealth cure`` (what the cure Job runs), keeps the pod healthy
through the SSDP sender; removed, the bug is back. The same VM runs as
``test_broadcast_route_cache.py`` (session fixtures): no extra boot.
"""

from __future__ import annotations

import pytest
import vmrun
from test_broadcast_route_cache import (
    ALL_OK,
    ALL_UNREACHABLE,
    CLEAN_CPU,
    POISONED_CPU,
    cached_broadcast_cpus,
    failing_cpus,
)

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(3600)]

ROUTE = "255.255.255.255/32 dev eth0 scope link proto 110"


def test_the_cure_adds_its_route_and_a_broadcast_no_longer_poisons_the_cpu(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("cured")
    assert (step["cure"]["exit"], step["cure"]["result"]) == (0, "added"), step["cure"]
    assert step["cure"]["route"] == ROUTE
    assert step["probe"]["class"] == "Healthy", step["probe"]["reason"]
    assert step["connects"][POISONED_CPU] == step["connects"][CLEAN_CPU] == ALL_OK
    assert not cached_broadcast_cpus(step)
    assert "broadcast" not in step["route_get"][POISONED_CPU]


def test_with_the_route_the_ssdp_like_sender_never_breaks_the_pod(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("cured_oscillating")
    assert step["probe"]["class"] == "Healthy", step["probe"]["reason"]
    assert failing_cpus(step) == set()
    assert all(tally == ALL_OK for tally in step["connects"].values())


def test_with_the_route_removed_the_bug_is_back(regression_run: vmrun.ScenarioRun) -> None:
    step = regression_run.step("uncured")
    assert (step["cure"]["exit"], step["cure"]["result"]) == (0, "removed"), step["cure"]
    assert step["probe"]["class"] == "PodNamespace", step["probe"]["reason"]
    assert step["connects"][POISONED_CPU] == ALL_UNREACHABLE
    assert step["connects"][CLEAN_CPU] == ALL_OK


@pytest.mark.parametrize("name", ["cured", "cured_oscillating", "uncured"])
def test_on_the_fixed_kernel_the_cure_changes_nothing(
    control_run: vmrun.ScenarioRun, name: str
) -> None:
    step = control_run.step(name)
    assert step["probe"]["class"] == "Healthy", step["probe"]["reason"]
    assert all(tally == ALL_OK for tally in step["connects"].values())
