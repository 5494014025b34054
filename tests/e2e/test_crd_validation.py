"""The NetHealthCheck CRD on the real API server: it installs, accepts every example with the
model's defaults, refuses every invalid object itself (422, naming the field), keeps the
status the operator writes, and shows it in `kubectl get`."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
import time
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

import model_examples
from nethealth import model
from nethealth.model import definition

pytestmark = pytest.mark.e2e

ROOT = pathlib.Path(__file__).parents[2]


def _needs_argocd(path: pathlib.Path) -> bool:
    """Argo CD's own objects (Applications, its argocd-cm) need an Argo CD installation,
    which the dev cluster lacks; tests/unit/test_argocd_examples.py checks those."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return any(
        d["apiVersion"].startswith("argoproj.io/")
        or (d.get("metadata") or {}).get("namespace") == "argocd"
        for d in docs
    )


EXAMPLES = [p for p in sorted((ROOT / "examples").rglob("*.yaml")) if not _needs_argocd(p)]
INVALID = yaml.safe_load((ROOT / "tests/data/invalid-nethealthchecks.yaml").read_text())
VALID = yaml.safe_load((ROOT / "tests/data/valid-nethealthchecks.yaml").read_text())
FIELD_MANAGER = "nethealth-tests"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _established(api: kubernetes.client.ApiextensionsV1Api) -> bool:
    found = api.read_custom_resource_definition(definition.NAME)
    conditions = {c.type: c.status for c in (found.status.conditions or [])}
    return conditions.get("Established") == "True" and conditions.get("NamesAccepted") == "True"


def _served(objects: kubernetes.client.CustomObjectsApi) -> bool:
    """Established can precede the serving of the new kind by a moment."""
    try:
        objects.list_cluster_custom_object(model.GROUP, model.VERSION, model.PLURAL)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def _wait_until(ready: Callable[[], bool], *, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def installed_crd(api_client: kubernetes.client.ApiClient) -> None:
    """The CRD from crds/, server-side applied. It stays installed: NetHealthChecks of
    other tests in the session depend on it, and the cluster is torn down at the end."""
    api = kubernetes.client.ApiextensionsV1Api(api_client)
    api.patch_custom_resource_definition(
        definition.NAME,
        yaml.safe_load((ROOT / definition.PATHS[0]).read_text()),
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    _wait_until(lambda: _established(api), what="the CRD Established")
    objects = kubernetes.client.CustomObjectsApi(api_client)
    _wait_until(lambda: _served(objects), what="NetHealthChecks served")


@pytest.fixture
def checks(
    api_client: kubernetes.client.ApiClient, installed_crd: None
) -> kubernetes.client.CustomObjectsApi:
    del installed_crd
    return kubernetes.client.CustomObjectsApi(api_client)


def _create(
    checks: kubernetes.client.CustomObjectsApi, *, namespace: str, body: dict[str, Any]
) -> dict[str, Any]:
    created: dict[str, Any] = checks.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, body, field_manager=FIELD_MANAGER
    )
    return created


def _body(spec: dict[str, Any], *, name: str) -> dict[str, Any]:
    return {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": name},
        "spec": copy.deepcopy(spec),
    }


def _paths(value: Any, *, path: str) -> set[str]:
    if isinstance(value, dict):
        return {path}.union(*(_paths(v, path=f"{path}.{k}") for k, v in value.items()))
    if isinstance(value, list):
        return {path}.union(*(_paths(v, path=f"{path}[{i}]") for i, v in enumerate(value)))
    return {path}


def test_crd_is_established_with_its_names(
    api_client: kubernetes.client.ApiClient, installed_crd: None
) -> None:
    del installed_crd
    found = kubernetes.client.ApiextensionsV1Api(api_client).read_custom_resource_definition(
        definition.NAME
    )
    assert found.status.accepted_names.short_names == ["nethc"]
    assert found.spec.scope == "Namespaced"


def _assert_defaulted_alike(*, stored: dict[str, Any], sent: dict[str, Any]) -> None:
    local = model.parse_spec(copy.deepcopy(sent["spec"]))
    # The server filled in its defaults; the model fills in its own: the same values...
    assert model.parse(stored).spec == local
    # ...and the same fields (a default only one side applies would show up here).
    assert _paths(stored["spec"], path="spec") == _paths(model.SPEC.dump(local), path="spec")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_is_accepted_and_defaulted_as_the_model_defaults_it(
    path: pathlib.Path,
    api_client: kubernetes.client.ApiClient,
    checks: kubernetes.client.CustomObjectsApi,
    namespace: str,
) -> None:
    for doc in (d for d in yaml.safe_load_all(path.read_text()) if d):
        if doc["kind"] != model.KIND:
            kubernetes.utils.create_from_dict(api_client, doc, namespace=namespace)
            continue
        _assert_defaulted_alike(stored=_create(checks, namespace=namespace, body=doc), sent=doc)


def test_checks_at_the_edges_of_what_is_allowed_are_accepted_and_defaulted_alike(
    checks: kubernetes.client.CustomObjectsApi, namespace: str
) -> None:
    for index, case in enumerate(VALID["cases"]):
        body = _body(case["spec"], name=f"edge-{index}")
        try:
            stored = _create(checks, namespace=namespace, body=body)
        except ApiException as error:
            pytest.fail(f"{case['case']}: refused: {json.loads(error.body)['message']}")
        _assert_defaulted_alike(stored=stored, sent=body)


def _rule_messages() -> set[str]:
    messages: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            messages.update(rule["message"] for rule in node.get("x-kubernetes-validations", []))
            for child in node.values():
                walk(child)

    walk(definition.manifest())
    return messages


@pytest.mark.parametrize("case", INVALID["cases"], ids=lambda case: case["case"])
def test_invalid_check_is_refused_by_the_api_server_naming_the_field(
    case: dict[str, Any], checks: kubernetes.client.CustomObjectsApi, namespace: str
) -> None:
    with pytest.raises(ApiException) as raised:
        _create(checks, namespace=namespace, body=_body(case["spec"], name="invalid"))
    assert raised.value.status == 422
    message = json.loads(raised.value.body)["message"]
    assert case["field"] in message
    # Where the model refuses it with one of the CRD's CEL rules, the server says the same.
    with pytest.raises(model.SpecError) as refused:
        model.parse_spec(copy.deepcopy(case["spec"]))
    if refused.value.message in _rule_messages():
        assert refused.value.message in message


def test_invalid_update_is_refused_too(
    checks: kubernetes.client.CustomObjectsApi, namespace: str
) -> None:
    _create(checks, namespace=namespace, body=_body(INVALID["base"], name="web"))
    patch = {"spec": {"probe": {"interval": "5s"}}}
    with pytest.raises(ApiException) as raised:
        checks.patch_namespaced_custom_object(
            model.GROUP, model.VERSION, namespace, model.PLURAL, "web", patch
        )
    assert raised.value.status == 422
    assert "spec.probe.interval" in json.loads(raised.value.body)["message"]


def test_status_written_by_the_operator_is_kept_and_shown_by_kubectl_get(
    checks: kubernetes.client.CustomObjectsApi, namespace: str
) -> None:
    _create(checks, namespace=namespace, body=_body(INVALID["base"], name="web"))
    status = model_examples.full_status(
        now=datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    )
    checks.patch_namespaced_custom_object_status(
        model.GROUP,
        model.VERSION,
        namespace,
        model.PLURAL,
        "web",
        {"status": model.dump_status(status)},
        _content_type="application/merge-patch+json",
    )
    stored = checks.get_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, "web"
    )
    assert model.parse(stored).status == status

    table = checks.get_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, "web", _headers={"Accept": TABLE}
    )
    names = [column["name"] for column in table["columnDefinitions"]]
    (row,) = table["rows"]
    shown = dict(zip(names, row["cells"], strict=True))
    assert shown["Selected"] == 2
    assert shown["Degraded"] == 1
    assert shown["Remediated"] == 0
    assert shown["Mode"] == "DryRun"
    assert shown["Ready"] == "True"
    assert "Age" in shown
