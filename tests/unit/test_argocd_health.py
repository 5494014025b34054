"""The Argo CD health check (argocd/health.lua) run by a real Lua 5.1, the version Argo CD
embeds (gopher-lua), against statuses the operator's own ``status.status_patch`` writes, so
the script and the status it reads cannot drift apart.

Needs ``lua5.1`` (Debian package lua5.1, installed by scripts/setup.sh): skipped without it
outside CI, failed in CI.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from nethealth import acceptance, decision, model, selection, status
from nethealth.probe import types

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "argocd" / "health.lua"
CONFIGMAP = ROOT / "examples" / "argocd" / "argocd-cm.yaml"
HEALTH_KEY = "resource.customizations.health.nethealth.io_NetHealthCheck"

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
THRESHOLD = model.Threshold(failure_rate=0.2, min_samples=20, consecutive_runs=2, recovery_runs=2)
RUNNING = acceptance.Acceptance(
    ready=True, reason=model.Reason.RUNNING, message="2 pod(s) selected"
)

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


def record(*failures: int) -> decision.PodRecord:
    """The decision after runs with these failure counts (of 60 connects each)."""
    result = None
    for count in failures:
        klass = types.ProbeClass.HEALTHY if count == 0 else types.ProbeClass.POD_NAMESPACE
        run = decision.RunResult(
            klass=klass, attempts=60, failures=count, failure_blocks=min(count, 4)
        )
        result = decision.decide(previous=result, run=run, threshold=THRESHOLD)
    assert result is not None
    return result


def views(**records: decision.PodRecord) -> dict[str, status.PodView]:
    return {
        f"apps/{name}": status.PodView(
            ref=selection.PodRef(
                namespace="apps", name=name, uid=f"u-{name}", node="node-a", ip="198.51.100.9"
            ),
            record=pod_record,
            hint=None,
            last_run=NOW,
        )
        for name, pod_record in records.items()
    }


def written(
    *,
    verdict: acceptance.Acceptance = RUNNING,
    pods: dict[str, status.PodView] | None,
    generation: int = 1,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The status after the operator's patch (a merge patch: fields it leaves out stay)."""
    patch = status.status_patch(
        current=current or {},
        verdict=verdict,
        views=pods,
        generation=generation,
        check_namespace="apps",
        now=NOW,
        last_run=NOW if pods is not None else None,
        next_run=NOW + datetime.timedelta(minutes=1),
    )
    return {**(current or {}), **patch}


def test_a_new_check_without_status_is_progressing(lua: str, tmp_path: pathlib.Path) -> None:
    assert health(lua, check(generation=1, status_=None), tmp_path)[0] == "Progressing"


def test_an_accepted_check_is_progressing_until_its_first_probe_run(
    lua: str, tmp_path: pathlib.Path
) -> None:
    resource = check(generation=1, status_=written(pods=None))
    assert health(lua, resource, tmp_path) == ("Progressing", "Waiting for the first probe run")


def test_all_pods_healthy_is_healthy(lua: str, tmp_path: pathlib.Path) -> None:
    resource = check(generation=1, status_=written(pods=views(a=record(0), b=record(0))))
    assert health(lua, resource, tmp_path) == ("Healthy", "no pod degraded (2 measured)")


def test_a_degraded_pod_makes_the_check_degraded_naming_the_pod(
    lua: str, tmp_path: pathlib.Path
) -> None:
    resource = check(generation=1, status_=written(pods=views(a=record(0), b=record(30, 30))))
    health_status, message = health(lua, resource, tmp_path)
    assert health_status == "Degraded"
    assert "apps/b" in message


def test_a_suspect_pod_is_not_yet_degraded(lua: str, tmp_path: pathlib.Path) -> None:
    suspect = record(30)
    assert suspect.state is model.PodState.SUSPECT
    resource = check(generation=1, status_=written(pods=views(a=record(0), b=suspect)))
    assert health(lua, resource, tmp_path)[0] == "Healthy"


def test_a_recovering_pod_keeps_the_check_degraded(lua: str, tmp_path: pathlib.Path) -> None:
    recovering = record(30, 30, 0)
    assert recovering.state is model.PodState.RECOVERING
    resource = check(generation=1, status_=written(pods=views(b=recovering)))
    assert health(lua, resource, tmp_path)[0] == "Degraded"


def test_remediated_pods_do_not_count_as_degraded_in_the_condition_the_script_reads() -> None:
    # The script reads only the Degraded condition: "degraded and not remediated" holds
    # because the operator leaves Remediated pods out of it (no remediation run writes
    # them yet, so this pins the rule rather than a recorded status).
    assert model.PodState.REMEDIATED not in status.DEGRADED_STATES
    assert {model.PodState.DEGRADED, model.PodState.RECOVERING} <= status.DEGRADED_STATES


def test_an_edited_spec_is_progressing_until_observed_even_if_it_was_degraded(
    lua: str, tmp_path: pathlib.Path
) -> None:
    before_edit = written(pods=views(b=record(30, 30)), generation=1)
    resource = check(generation=2, status_=before_edit)
    assert health(lua, resource, tmp_path) == (
        "Progressing",
        "Waiting for the operator to observe generation 2",
    )
    after_run = written(pods=views(b=record(0)), generation=2, current=before_edit)
    assert health(lua, check(generation=2, status_=after_run), tmp_path)[0] == "Healthy"


def test_an_invalid_spec_is_degraded_with_the_reason(lua: str, tmp_path: pathlib.Path) -> None:
    invalid = acceptance.Acceptance(
        ready=False, reason=model.Reason.INVALID_SPEC, message="spec.targets: must not be empty"
    )
    resource = check(generation=1, status_=written(verdict=invalid, pods=None))
    assert health(lua, resource, tmp_path) == (
        "Degraded",
        "InvalidSpec: spec.targets: must not be empty",
    )


def test_no_pods_selected_yet_is_progressing(lua: str, tmp_path: pathlib.Path) -> None:
    none_yet = acceptance.Acceptance(
        ready=False, reason=model.Reason.NO_PODS_SELECTED, message="no pod matches the selector"
    )
    resource = check(generation=1, status_=written(verdict=none_yet, pods=None))
    assert health(lua, resource, tmp_path)[0] == "Progressing"


def test_the_written_statuses_pass_the_crd_schema() -> None:
    # The statuses above are only as good as their shape: they must parse as the
    # operator's own status model, which mirrors the CRD.
    for pods in (None, views(a=record(0), b=record(30, 30))):
        model.parse_status(written(pods=pods))


def test_the_argocd_configmap_example_carries_the_tested_script_verbatim() -> None:
    configmap = yaml.safe_load(CONFIGMAP.read_text())
    assert configmap["data"][HEALTH_KEY] == SCRIPT.read_text()
