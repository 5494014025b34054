"""The Argo CD examples: the check's Application must ignore exactly what the operator's
remediation owns (its field manager), also when syncing, and the chart's Application must
point at the chart in this repository."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from nethealth import settings

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "argocd"


def _application(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    assert doc["kind"] == "Application"
    return dict(doc)


def test_workload_differences_owned_by_the_operators_field_manager_are_ignored() -> None:
    manager = settings.from_env({}).field_manager
    ignored = _application("check-application.yaml")["spec"]["ignoreDifferences"]
    assert {entry["kind"] for entry in ignored} >= {"Deployment", "StatefulSet"}
    for entry in ignored:
        assert entry["group"] == "apps"
        assert entry["managedFieldsManagers"] == [manager]


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


def test_the_operators_application_installs_this_repositorys_chart() -> None:
    source = _application("operator-application.yaml")["spec"]["source"]
    assert (ROOT / source["path"] / "Chart.yaml").is_file()
