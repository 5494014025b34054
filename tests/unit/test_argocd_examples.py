"""The Argo CD examples: the check's Application must ignore exactly the fields the
operator's remediation sets on a workload, also when syncing; argocd-cm must leave status
out of comparisons; the check must be pruned last; and the chart's Application must point
at the chart in this repository."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import yaml

from nethealth.remediation import hostnetwork

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "argocd"


def _application(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    assert doc["kind"] == "Application"
    return dict(doc)


def test_the_pod_template_fields_the_operators_patch_sets_are_ignored_for_each_kind() -> None:
    """jsonPointers, not managedFieldsManagers: Argo CD 2.x applies the latter to nothing on
    Kubernetes >= 1.33 (tests/e2e/test_argocd_remediation.py)."""
    ignored = _application("check-application.yaml")["spec"]["ignoreDifferences"]
    assert [entry["kind"] for entry in ignored] == [str(kind) for kind in hostnetwork.Kind]
    for entry in ignored:
        key = hostnetwork.WorkloadKey(kind=hostnetwork.Kind(entry["kind"]), namespace="n", name="w")
        body = hostnetwork.patch_body(
            key=key,
            workload={"kind": entry["kind"], "spec": {"template": {"spec": {}}}},
            check="n/c",
            check_uid="uid",
            revert_on_delete=True,
            now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        )
        pod_spec = body["spec"]["template"]["spec"]
        assert entry["group"] == "apps"
        assert set(entry) == {"group", "kind", "jsonPointers"}
        assert sorted(entry["jsonPointers"]) == sorted(
            f"/spec/template/spec/{field}" for field in pod_spec
        )


def test_the_configmap_example_leaves_status_out_of_every_comparison() -> None:
    configmap = yaml.safe_load((EXAMPLES / "argocd-cm.yaml").read_text())
    options = yaml.safe_load(configmap["data"]["resource.compareoptions"])
    assert options == {"ignoreResourceStatusField": "all"}


def test_ignored_differences_are_respected_when_syncing_too() -> None:
    options = _application("check-application.yaml")["spec"]["syncPolicy"]["syncOptions"]
    assert "RespectIgnoreDifferences=true" in options


def test_the_checks_application_syncs_a_check_and_its_workload() -> None:
    path = _application("check-application.yaml")["spec"]["source"]["path"]
    kinds = {
        doc["kind"]
        for manifest in (ROOT / path).glob("*.yaml")
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc
    }
    assert kinds == {"Deployment", "NetHealthCheck"}


def test_the_check_is_pruned_after_the_rest_of_its_sync() -> None:
    """PruneLast on the check: the pruning sync applies the workload (with the ignored
    fields' pre-revert values) before the operator's revert-on-delete runs, not after."""
    path = _application("check-application.yaml")["spec"]["source"]["path"]
    checks = [
        doc
        for manifest in (ROOT / path).glob("*.yaml")
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc and doc["kind"] == "NetHealthCheck"
    ]
    assert checks
    for check in checks:
        options = check["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        assert "PruneLast=true" in options.split(",")


def test_the_operators_application_installs_this_repositorys_chart() -> None:
    source = _application("operator-application.yaml")["spec"]["source"]
    assert (ROOT / source["path"] / "Chart.yaml").is_file()
