"""Test tiers: tests/unit is pure; tests/netns needs root and real namespaces; tests/e2e
needs the real single-node cluster (root as well).

Outside CI a tier whose prerequisites are missing is skipped with the reason; in CI
(``CI=true``) it fails instead, because a silently skipped tier is a green build that
tested nothing.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import hypothesis
import pytest

TIERS_NEEDING_ROOT = ("netns", "e2e", "kernel")

# The same examples on every run: a property test that finds a new counterexample on one
# CI run and not on the next is a flaky build, not a finding. No deadline: two shared
# cores make timings meaningless.
hypothesis.settings.register_profile("nethealth", derandomize=True, deadline=None)
hypothesis.settings.load_profile("nethealth")
HERE = pathlib.Path(__file__).parent


def _tier_of(item: pytest.Item) -> str | None:
    try:
        relative = pathlib.Path(str(item.path)).relative_to(HERE)
    except ValueError:
        return None
    return relative.parts[0] if relative.parts else None


def _missing_prerequisite(tier: str) -> str | None:
    if tier in TIERS_NEEDING_ROOT and os.geteuid() != 0:
        return f"tests/{tier} needs root (real network namespaces)"
    if tier in TIERS_NEEDING_ROOT and shutil.which("ip") is None:
        return f"tests/{tier} needs iproute2's `ip`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    in_ci = os.environ.get("CI", "").lower() == "true"
    for item in items:
        tier = _tier_of(item)
        if tier in TIERS_NEEDING_ROOT:
            item.add_marker(getattr(pytest.mark, tier))
            reason = _missing_prerequisite(tier)
            if reason is None:
                continue
            if in_ci:
                item.user_properties.append(("missing", reason))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _fail_on_missing_prerequisite(request: pytest.FixtureRequest) -> None:
    for key, reason in request.node.user_properties:
        if key == "missing":
            pytest.fail(f"missing prerequisite in CI: {reason}")


def _prometheus_tool(name: str) -> str:
    """Debian's ``prometheus`` package's binaries (``scripts/setup.sh`` installs it): missing,
    the test is skipped outside CI and fails in CI, like a tier's prerequisite."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is missing: apt-get install prometheus (scripts/setup.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"missing prerequisite in CI: {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return _prometheus_tool("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _prometheus_tool("prometheus")
