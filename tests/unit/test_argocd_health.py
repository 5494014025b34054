"""The Argo CD health check (argocd/health.lua) run by a real Lua 5.1, the version Argo CD
embeds (gopher-lua), against NetHealthCheck objects **recorded from the real cluster**.

``tests/unit/fixtures/argocd/<moment>.yaml`` are versions of checks exactly as the API
server returned them while the operator ran against a real pod and a fault degraded it
(``tests/e2e/record_argocd_statuses.py`` records them; see its docstring to re-record).
The health each moment must get is written here, from the issue's rules, not read from
the fixtures. A few states no e2e run produces (an invalid spec that got past the CRD)
are built with the operator's own ``reporting.status_patch``.

Needs ``lua5.1`` (Debian package lua5.1, installed by scripts/setup.sh): skipped without it
outside CI, failed in CI.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest
import status_builders
import yaml

from nethealth import model
from nethealth.detection import acceptance

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "argocd" / "health.lua"
CONFIGMAP = ROOT / "examples" / "argocd" / "argocd-cm.yaml"
HEALTH_KEY = "resource.customizations.health.nethealth.io_NetHealthCheck"

FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "argocd"

# Runs the script the way Argo CD does: a chunk that sees the resource as the global `obj`
# and returns a table with status and message.
HARNESS = """
local hs = assert(loadfile(arg[1]))()
io.write(hs.status, "\\n", hs.message or "", "\\n")
"""


@pytest.fixture(scope="module")
def lua() -> str:
    found = shutil.which("lua5.1")
    if found is None:
        reason = "lua5.1 is not installed (Debian package lua5.1)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"missing prerequisite in CI: {reason}")
        pytest.skip(reason)
    return found


def lua_literal(value: Any) -> str:
    """A Lua table constructor for JSON-like data (JSON null becomes nil, as in Argo CD)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua for these texts
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    if isinstance(value, Mapping):
        fields = (f"[{json.dumps(k)}] = {lua_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(fields) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def health(lua: str, resource: Mapping[str, Any], tmp_path: pathlib.Path) -> tuple[str, str]:
    harness = tmp_path / "harness.lua"
    harness.write_text(f"obj = {lua_literal(resource)}\n{HARNESS}")
    result = subprocess.run(
        [lua, str(harness), str(SCRIPT)], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0, result.stderr
    health_status, message = result.stdout.split("\n")[:2]
    return health_status, message


def check(*, generation: int, status_: Mapping[str, Any] | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "apiVersion": f"{model.GROUP}/{model.VERSION}",
        "kind": "NetHealthCheck",
        "metadata": {"name": "web", "namespace": "apps", "generation": generation},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
    }
    if status_ is not None:
        resource["status"] = dict(status_)
    return resource


# moment -> (Argo CD health, text the message must contain)
EXPECTED: dict[str, tuple[str, str]] = {
    "created": ("Progressing", "Waiting for the operator to pick up the check"),
    "accepted": ("Progressing", "Waiting for the first probe run"),
    "healthy": ("Healthy", "no pod degraded"),
    # One failing run is not enough: the check stays green until consecutiveRuns.
    "suspect": ("Healthy", ""),
    "degraded": ("Degraded", "/ha"),
    # The edit's own version still carries the old (Degraded) status: not trusted.
    "edited-while-degraded": ("Progressing", "Waiting for the operator to observe generation 2"),
    "edit-observed": ("Degraded", "/ha"),
    # Recovery has hysteresis: green only after recoveryRuns passing runs.
    "recovering": ("Degraded", "/ha"),
    "recovered": ("Healthy", "no pod degraded"),
    # Pods synced together with the check may not exist yet.
    "no-pods-selected": ("Progressing", "NoPodsSelected"),
    # Patched but not yet verified: the pod is still degraded, nothing is fixed yet.
    "remediation-verifying": ("Degraded", "/web-"),
    # Its workload moved to hostNetwork and verified: remediated pods are not degraded.
    "remediated": ("Healthy", "no pod degraded"),
}


def recorded(moment: str) -> dict[str, Any]:
    document = yaml.safe_load((FIXTURES / f"{moment}.yaml").read_text(encoding="utf-8"))
    assert document["moment"] == moment
    obj: dict[str, Any] = document["object"]
    return obj


@pytest.mark.parametrize("moment", sorted(EXPECTED))
def test_a_recorded_check_gets_the_health_argo_cd_must_show(
    moment: str, lua: str, tmp_path: pathlib.Path
) -> None:
    want_status, want_text = EXPECTED[moment]
    health_status, message = health(lua, recorded(moment), tmp_path)
    assert health_status == want_status, f"{moment}: {message}"
    assert want_text in message, f"{moment}: {message}"


def test_every_recorded_fixture_is_tested() -> None:
    assert {path.stem for path in FIXTURES.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("moment", sorted(EXPECTED))
def test_recorded_fixtures_are_real_objects_the_current_model_still_reads(moment: str) -> None:
    # Recorded by an API server (uid, resourceVersion, timestamps), and still the shape the
    # operator writes: a status change that breaks this means re-recording them.
    obj = recorded(moment)
    assert obj["kind"] == model.KIND
    assert {"uid", "resourceVersion", "creationTimestamp", "generation"} <= set(obj["metadata"])
    if "status" in obj:
        model.parse_status(obj["status"])


def test_the_recorded_moments_are_what_their_names_say() -> None:
    # Guards the recorder: each fixture shows the state the expectations above assume.
    def pod_state(moment: str) -> str | None:
        pods = recorded(moment).get("status", {}).get("pods") or []
        return pods[0]["state"] if pods else None

    assert "status" not in recorded("created")
    assert pod_state("accepted") is None
    assert [
        pod_state(m) for m in ("healthy", "suspect", "degraded", "recovering", "recovered")
    ] == [
        "Healthy",
        "Suspect",
        "Degraded",
        "Recovering",
        "Healthy",
    ]
    edited = recorded("edited-while-degraded")
    assert edited["metadata"]["generation"] > edited["status"]["observedGeneration"]
    assert pod_state("edited-while-degraded") == "Degraded"
    observed = recorded("edit-observed")
    assert observed["metadata"]["generation"] == observed["status"]["observedGeneration"]
    assert pod_state("remediation-verifying") == "Degraded"
    assert pod_state("remediated") == "Remediated"
    (workload,) = recorded("remediated")["status"]["remediation"]
    assert (workload["kind"], workload["state"]) == ("Deployment", "Remediated")


def test_an_invalid_spec_is_degraded_with_the_reason(lua: str, tmp_path: pathlib.Path) -> None:
    # The CRD refuses what the operator would call invalid, so no run records this: it is
    # what an object stored before a CRD upgrade would get.
    invalid = acceptance.Acceptance(
        ready=False, reason=model.Reason.INVALID_SPEC, message="spec.targets: must not be empty"
    )
    # What the operator writes for that verdict before any probe run.
    written_status = status_builders.status_patch(
        verdict=invalid, generation=1, next_run=status_builders.NEXT_RUN
    )
    model.parse_status(written_status)
    resource = check(generation=1, status_=written_status)
    assert health(lua, resource, tmp_path) == (
        "Degraded",
        "InvalidSpec: spec.targets: must not be empty",
    )


def test_the_argocd_configmap_example_carries_the_tested_script_verbatim() -> None:
    configmap = yaml.safe_load(CONFIGMAP.read_text())
    assert configmap["data"][HEALTH_KEY] == SCRIPT.read_text()
