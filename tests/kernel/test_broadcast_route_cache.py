"""The seed incident for real: a kernel with the broadcast-route-cache regression.

Debian's 6.1 source with the fix taken out again (``kernelrepro/broadcast-route-cache
.patch``) and the same source as shipped, each booted under qemu with two CPUs and put
through ``scenario.py``: a Calico-like pod sends an SSDP M-SEARCH to 255.255.255.255
after an IGMP join/leave, as Home Assistant does, and the real ``nethealth probe``
diagnoses the pod. One VM run per kernel serves every test here (session fixtures).
"""

from __future__ import annotations

from typing import Any

import pytest
import scenario
import vmrun

from nethealth.probe import types

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(3600)]  # cold: two kernel builds first

POISONED_CPU = "0"  # scenario.py sends the pod's broadcast on CPU 0
CLEAN_CPU = "1"
FRESH_POISONED_CPU = "1"  # and the fresh pod's on CPU 1
ALL_OK = {"ok": scenario.CONNECTS_PER_CPU}
ALL_UNREACHABLE = {"ENETUNREACH": scenario.CONNECTS_PER_CPU}


def target(step: dict[str, Any]) -> dict[str, Any]:
    return step["probe"]["namespaces"]["target"]


def failing_cpus(step: dict[str, Any]) -> set[str]:
    return {cpu for cpu, counts in target(step)["cpus"].items() if counts["failures"]}


def hint_codes(step: dict[str, Any]) -> list[str]:
    return [hint["code"] for hint in step["probe"]["hints"]]


def cached_broadcast_cpus(step: dict[str, Any]) -> set[str]:
    """CPUs on which the probe's cached (plain or TCP flow-key) lookup said broadcast."""
    cache_bits = types.RTCF_LOCAL | types.RTCF_BROADCAST
    return {
        str(look["cpu"])
        for look in step["probe"]["evidence"]["lookups"]
        if look["kind"] in ("plain", "flow")
        and look["type"] == "broadcast"
        and look["flags"] & cache_bits == cache_bits
    }


def episodes(blocks: list[dict[str, float]], *, gap: float) -> int:
    """Failure blocks merged when less than ``gap`` seconds apart: on/off episodes."""
    count, last_end = 0, None
    for block in blocks:
        if last_end is None or block["start"] - last_end > gap:
            count += 1
        last_end = block["end"]
    return count


# --- the regression kernel ----------------------------------------------------------------


def test_a_broadcast_after_an_invalidation_poisons_only_the_sending_cpu(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("poisoned")
    assert step["connects"][POISONED_CPU] == ALL_UNREACHABLE
    assert step["connects"][CLEAN_CPU] == ALL_OK
    assert step["route_get"][POISONED_CPU].startswith("broadcast ")
    assert "cache <local,brd>" in step["route_get"][POISONED_CPU]
    assert "broadcast" not in step["route_get"][CLEAN_CPU]


def test_probe_classifies_the_poisoned_pod_pod_namespace_with_per_cpu_failures(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("poisoned")
    probe = step["probe"]
    assert probe["class"] == "PodNamespace", probe["reason"]
    assert failing_cpus(step) == {POISONED_CPU}
    cpus = target(step)["cpus"]
    assert cpus[POISONED_CPU]["failures"] == cpus[POISONED_CPU]["attempts"] > 0
    assert set(target(step)["errnos"]) == {"ENETUNREACH"}
    assert probe["namespaces"]["control"]["failures"] == 0
    assert probe["namespaces"]["host"]["failures"] == 0


def test_probe_evidence_shows_the_cached_broadcast_route_on_the_sending_cpu_only(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("poisoned")
    assert cached_broadcast_cpus(step) == {POISONED_CPU}
    assert step["probe"]["evidence"]["counters"].get("IpOutNoRoutes", 0) == 0


def test_probe_names_the_kernel_bug_with_the_per_cpu_evidence(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("poisoned")
    codes = hint_codes(step)
    assert "KernelBroadcastRouteCache" in codes, codes
    evidence = step["probe"]["hints"][codes.index("KernelBroadcastRouteCache")]["evidence"]
    assert "route lookups differ between CPUs" in evidence
    assert f"failures on CPU {POISONED_CPU}, none on CPU {CLEAN_CPU}" in evidence


def test_probe_ranks_the_kernel_bug_first(regression_run: vmrun.ScenarioRun) -> None:
    codes = hint_codes(regression_run.step("poisoned"))
    assert codes[0] == "KernelBroadcastRouteCache", codes


def test_a_fresh_pod_is_healthy_until_its_own_broadcast(
    regression_run: vmrun.ScenarioRun,
) -> None:
    baseline = regression_run.step("baseline")
    assert baseline["probe"]["class"] == "Healthy", baseline["probe"]["reason"]
    # While the pod was poisoned the fresh pod (the probe's control) connected fine.
    assert regression_run.step("poisoned")["probe"]["namespaces"]["control"]["failures"] == 0
    fresh = regression_run.step("fresh")
    assert fresh["probe"]["class"] == "PodNamespace", fresh["probe"]["reason"]
    assert failing_cpus(fresh) == {FRESH_POISONED_CPU}
    assert fresh["connects"][FRESH_POISONED_CPU] == ALL_UNREACHABLE
    assert cached_broadcast_cpus(fresh) == {FRESH_POISONED_CPU}


def test_an_igmp_join_and_leave_clears_the_poison(regression_run: vmrun.ScenarioRun) -> None:
    step = regression_run.step("cleared")
    assert step["probe"]["class"] == "Healthy", step["probe"]["reason"]
    assert all(tally == ALL_OK for tally in step["connects"].values())
    assert not cached_broadcast_cpus(step)


def test_an_ssdp_like_sender_makes_failures_come_and_go_on_its_cpu(
    regression_run: vmrun.ScenarioRun,
) -> None:
    step = regression_run.step("oscillating")
    probe = step["probe"]
    assert probe["class"] == "PodNamespace", probe["reason"]
    assert failing_cpus(step) == {POISONED_CPU}
    cpu = target(step)["cpus"][POISONED_CPU]
    assert 0 < cpu["failures"] < cpu["attempts"]  # on and off, not constant
    # Separate episodes: between them CPU 0's connects worked for a sender half-period.
    assert episodes(target(step)["blocks"], gap=scenario.LOOP_PERIOD / 2) >= 2


# --- the control kernel -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["baseline", "poisoned", "cleared", "fresh", "oscillating"])
def test_without_the_regression_every_step_is_healthy(
    control_run: vmrun.ScenarioRun, name: str
) -> None:
    step = control_run.step(name)
    assert step["probe"]["class"] == "Healthy", step["probe"]["reason"]
    assert all(tally == ALL_OK for tally in step["connects"].values())
    assert not any("broadcast" in text for text in step["route_get"].values())
    assert not cached_broadcast_cpus(step)


def test_both_kernels_come_from_the_same_debian_source(
    regression_run: vmrun.ScenarioRun, control_run: vmrun.ScenarioRun
) -> None:
    assert regression_run.kernel.package_version == control_run.kernel.package_version
    assert regression_run.record["uname"].endswith("-nethealth-regression")
    assert control_run.record["uname"].endswith("-nethealth-control")
    assert regression_run.record["cpus"] == control_run.record["cpus"] == 2
