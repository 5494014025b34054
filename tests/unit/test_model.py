"""The typed NetHealthCheck model: examples parse, defaults apply, bad input names its field."""

from __future__ import annotations

import copy
import datetime
import pathlib
from typing import Any

import hypothesis
import pytest
import yaml
from hypothesis import strategies as st

import model_examples
from nethealth import model, schema
from nethealth.devcluster import images
from nethealth.probe import types

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
INVALID = yaml.safe_load((ROOT / "tests/data/invalid-nethealthchecks.yaml").read_text())
VALID = yaml.safe_load((ROOT / "tests/data/valid-nethealthchecks.yaml").read_text())


def _documents(path: pathlib.Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _checks(path: pathlib.Path) -> list[dict[str, Any]]:
    return [doc for doc in _documents(path) if doc["kind"] == model.KIND]


def _body(spec: dict[str, Any], *, name: str = "check") -> dict[str, Any]:
    return {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": name, "namespace": "default"},
        "spec": copy.deepcopy(spec),
    }


def _in_namespace(doc: dict[str, Any]) -> dict[str, Any]:
    """Examples leave the namespace to `kubectl apply -n`; the API server fills it in."""
    body = copy.deepcopy(doc)
    body["metadata"].setdefault("namespace", "default")
    return body


def _example(name: str) -> model.NetHealthCheck:
    (doc,) = _checks(ROOT / "examples" / name)
    return model.parse(_in_namespace(doc))


def test_examples_include_minimal_full_namespace_selector_and_demo() -> None:
    names = {path.relative_to(ROOT / "examples").as_posix() for path in EXAMPLES}
    assert {"minimal.yaml", "full.yaml", "namespace-selector.yaml"} <= names
    assert any(name.startswith("demo/") for name in names)


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES if _checks(p)], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_every_example_check_parses(path: pathlib.Path) -> None:
    for doc in _checks(path):
        check = model.parse(_in_namespace(doc))
        assert check.name == doc["metadata"]["name"]
        assert check.spec.targets


def test_minimal_example_gets_the_documented_defaults() -> None:
    spec = _example("minimal.yaml").spec
    assert spec.probe.interval == datetime.timedelta(minutes=5)
    assert spec.probe.attempts == 60
    assert spec.probe.spread == datetime.timedelta(seconds=30)
    assert spec.probe.timeout == datetime.timedelta(seconds=2)
    assert spec.probe.deadline > spec.probe.spread + spec.probe.timeout
    assert spec.probe.image is None
    assert spec.threshold.failure_rate == 0.2
    assert spec.remediation.mode is model.RemediationMode.DRY_RUN
    assert spec.remediation.strategy is model.RemediationStrategy.IN_PLACE_THEN_HOST_NETWORK
    assert spec.remediation.revert_on_delete is True
    assert spec.remediation.verify is True
    assert spec.remediation.pause_requests == ()
    assert spec.namespace_selector is None
    assert spec.dns is None


def _paths(value: Any, *, path: str) -> set[str]:
    """The property paths a JSON value sets, lists written as ``[]``."""
    if isinstance(value, dict):
        found = {path}
        for name, item in value.items():
            found |= _paths(item, path=f"{path}.{name}")
        return found
    if isinstance(value, list):
        return {path}.union(*(_paths(item, path=f"{path}[]") for item in value))
    return {path}


def _schema_paths(node: dict[str, Any], *, path: str) -> set[str]:
    """The property paths a schema defines (map entries are the user's, not the schema's)."""
    found = {path}
    for name, child in node.get("properties", {}).items():
        found |= _schema_paths(child, path=f"{path}.{name}")
    if "items" in node:
        found |= _schema_paths(node["items"], path=f"{path}[]")
    return found


def test_full_example_sets_every_spec_field_but_the_namespace_selector() -> None:
    (doc,) = _checks(ROOT / "examples/full.yaml")
    unset = _schema_paths(model.SPEC.openapi(field="spec"), path="spec") - _paths(
        doc["spec"], path="spec"
    )
    assert unset
    assert all(path.startswith("spec.namespaceSelector") for path in unset)


def test_examples_together_set_every_spec_field() -> None:
    examples = {
        "examples/full.yaml",
        "examples/namespace-selector.yaml",
    }
    specs = [doc["spec"] for name in examples for doc in _checks(ROOT / name)]
    shown = set().union(*(_paths(spec, path="spec") for spec in specs))
    assert _schema_paths(model.SPEC.openapi(field="spec"), path="spec") - shown == set()


def test_namespace_selector_example_uses_a_namespace_selector() -> None:
    check = _example("namespace-selector.yaml")
    assert check.spec.namespace_selector is not None
    assert not check.spec.namespace_selector.empty


def test_demo_workload_runs_the_local_busybox_image_and_never_pulls() -> None:
    (deployment,) = [
        doc
        for doc in _documents(ROOT / "examples/demo/workload.yaml")
        if doc["kind"] == "Deployment"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == images.WORKLOAD_IMAGE
    assert container["imagePullPolicy"] == "Never"


def test_demo_check_selects_the_demo_workload() -> None:
    (doc,) = [doc for p in (ROOT / "examples/demo").glob("*.yaml") for doc in _checks(p)]
    selector = model.parse(_in_namespace(doc)).spec.selector
    (deployment,) = _documents(ROOT / "examples/demo/workload.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.match_expressions == ()
    assert selector.match_labels.items() <= labels.items()


@pytest.mark.parametrize("case", INVALID["cases"], ids=lambda case: case["case"])
def test_invalid_check_is_refused_naming_the_field(case: dict[str, Any]) -> None:
    with pytest.raises(model.SpecError) as raised:
        model.parse(_body(case["spec"]))
    assert raised.value.path.startswith(case["field"])
    assert str(raised.value).startswith(case["field"])


@pytest.mark.parametrize("case", VALID["cases"], ids=lambda case: case["case"])
def test_check_at_the_edge_of_what_is_allowed_is_accepted(case: dict[str, Any]) -> None:
    assert model.parse(_body(case["spec"])).spec.targets


def test_invalid_table_base_is_itself_valid() -> None:
    assert model.parse(_body(INVALID["base"])).spec.targets[0].port == 443


def test_unknown_field_is_refused_with_the_allowed_names() -> None:
    spec = {**INVALID["base"], "probe": {"intervall": "5m"}}
    with pytest.raises(model.SpecError) as raised:
        model.parse(_body(spec))
    assert raised.value.path == "spec.probe.intervall"
    assert "interval" in raised.value.message


def test_body_of_another_kind_is_refused() -> None:
    body = {**_body(INVALID["base"]), "kind": "Deployment"}
    with pytest.raises(model.SpecError, match="NetHealthCheck"):
        model.parse(body)


def test_targets_become_the_probes_target_values() -> None:
    (target,) = model.parse(_body(INVALID["base"])).spec.targets
    assert target == types.Target(name="upstream", host="198.51.100.10", port=443)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5s", 1.5), ("500ms", 0.5), ("2h0m1s", 7201)],
)
def test_go_style_durations_parse(text: str, seconds: float) -> None:
    assert schema.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "-1s", "1d", "five minutes", "1h 30m", "5M"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        schema.parse_duration(text)


@hypothesis.given(st.integers(min_value=0, max_value=10**9))
def test_formatted_durations_parse_back_to_the_same_value(millis: int) -> None:
    value = datetime.timedelta(milliseconds=millis)
    assert schema.parse_duration(schema.format_duration(value)) == value


def test_selector_renders_as_a_label_selector_query() -> None:
    spec = _example("full.yaml").spec
    assert spec.selector.as_query() == (
        "app.kubernetes.io/name=homeassistant,"
        "app.kubernetes.io/component in (server,worker),"
        "!nethealth.io/skip"
    )


def test_status_dumps_to_json_and_parses_back_unchanged() -> None:
    status = model_examples.full_status(
        now=datetime.datetime(2026, 11, 26, 4, 0, tzinfo=datetime.UTC)
    )
    dumped = model.dump_status(status)
    assert dumped["pods"][0]["class"] == "PodNamespace"
    assert dumped["lastRunTime"] == "2026-11-26T04:00:00Z"
    assert model.parse_status(yaml.safe_load(yaml.safe_dump(dumped))) == status


def test_status_leaves_out_what_is_unset() -> None:
    assert model.dump_status(model.EMPTY_STATUS) == {}


def test_body_without_status_has_the_empty_status() -> None:
    assert model.parse(_body(INVALID["base"])).status == model.EMPTY_STATUS
