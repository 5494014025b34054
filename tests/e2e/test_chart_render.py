"""The Helm chart as ``helm`` itself sees it: lint, render, schema, and RBAC against the code.

These need the ``helm`` that ``nethealth cluster build`` compiles from the Go module proxy
(``cluster/helm``), but no cluster. Outside CI a missing binary skips them; in CI it fails.

The ClusterRole and Role must grant exactly the API calls the operator makes: the calls are
read from ``operator/nethealth/kube/client.py`` (the methods of ``Client``, the operator's
one client object; ``kube/blocking.py`` serves the command line with the user's own
credentials) plus what kopf itself does,
so a new call without a matching rule, or a rule nothing uses, fails here.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
import yaml

from nethealth import model
from nethealth.detection import jobs, selection
from nethealth.kube import client
from nethealth.remediation import curejob

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "nethealth-operator"
KUBE_MODULE = ROOT / "operator" / "nethealth" / "kube" / "client.py"

Grant = tuple[str, str, str]  # (apiGroup, resource, verb)

# What kopf does on the operator's behalf, beyond the calls of kube.Client: it watches the
# checks cluster-wide, posts core/v1 Events for handler outcomes and watches CRDs so that
# one created after start-up is noticed.
KOPF_GRANTS: frozenset[Grant] = frozenset(
    {
        (model.GROUP, model.PLURAL, "list"),
        (model.GROUP, model.PLURAL, "watch"),
        ("", "events", "create"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    }
)

# kopf serving a list of namespaces (operator.watchNamespaces or rbac.namespaces) lists
# and watches namespaces, to serve one of them that is created after it started.
KOPF_LISTED_NAMESPACES: frozenset[Grant] = frozenset({("", "namespaces", "watch")})

# The shared view's watches (``kube/watching.py``: list, then watch, pods and nodes).
WATCH_GRANTS: frozenset[Grant] = frozenset({("", "pods", "watch"), ("", "nodes", "watch")})

# The Kubernetes client's method names: <verb>_[namespaced_]<kind>[_status].
_METHOD = re.compile(
    r"^(list|read|get|create|patch|replace|delete)_(?:namespaced_)?(\w+?)(?:_for_all_namespaces)?$"
)
_VERBS = {
    "list": "list",
    "read": "get",
    "get": "get",
    "create": "create",
    "patch": "patch",
    "replace": "update",
    "delete": "delete",
}
_RESOURCES = {
    "pod": ("", "pods"),
    "pod_eviction": ("", "pods/eviction"),
    "node": ("", "nodes"),
    "namespace": ("", "namespaces"),
    "event": ("", "events"),
    "job": ("batch", "jobs"),
    "lease": ("coordination.k8s.io", "leases"),
    "custom_object": (model.GROUP, model.PLURAL),
    "cluster_custom_object": (model.GROUP, model.PLURAL),
    "custom_object_status": (model.GROUP, f"{model.PLURAL}/status"),
    "replica_set": ("apps", "replicasets"),
    "deployment": ("apps", "deployments"),
    "stateful_set": ("apps", "statefulsets"),
    "daemon_set": ("apps", "daemonsets"),
}


# The Client methods that change workloads: what rbac.mode=detectOnly does not grant.
REMEDIATION_METHODS = frozenset({"apply_workload", "evict_pod"})


def _operator_api_calls(*, remediate: bool = True) -> Iterator[str]:
    yield from _calls_in(
        KUBE_MODULE, cls="Client", skip=frozenset() if remediate else REMEDIATION_METHODS
    )
    # The client names the apps/v1 methods per kind: read_namespaced_<suffix>,
    # patch_namespaced_<suffix> (apply_workload), list_<suffix>_for_all_namespaces and
    # list_namespaced_<suffix> (confined to rbac.namespaces), from its _SUFFIX table.
    for suffix in client._SUFFIX.values():
        yield f"read_namespaced_{suffix}"
        if remediate:
            yield f"patch_namespaced_{suffix}"
        yield f"list_{suffix}_for_all_namespaces"
        yield f"list_namespaced_{suffix}"


def _calls_in(
    module: pathlib.Path, *, cls: str, skip: frozenset[str] = frozenset()
) -> Iterator[str]:
    tree = ast.parse(module.read_text())
    (found,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    for function in found.body:
        if not isinstance(function, ast.AsyncFunctionDef) or function.name in skip:
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id != "self"  # the client's own methods, not the API's
                and _METHOD.match(node.func.attr)
            ):
                yield node.func.attr


def grants_used_by_the_code(*, remediate: bool = True, listed: bool = False) -> frozenset[Grant]:
    """What the code calls; ``listed``: the operator serves a list of namespaces."""
    grants = set(KOPF_GRANTS | WATCH_GRANTS | (KOPF_LISTED_NAMESPACES if listed else set()))
    for method in _operator_api_calls(remediate=remediate):
        match = _METHOD.match(method)
        assert match is not None
        verb, kind = match.groups()
        assert kind in _RESOURCES, (
            f"kube.Client calls {method}: add its resource to this test and a rule to the chart"
        )
        group, resource = _RESOURCES[kind]
        grants.add((group, resource, _VERBS[verb]))
    return frozenset(grants)


def _helm(helm: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=False, timeout=120
    )


def render(helm: pathlib.Path, *, sets: Sequence[str] = ()) -> list[dict[str, Any]]:
    flags = [item for value in sets for item in ("--set", value)]
    result = _helm(helm, "template", "nh", str(CHART), "--namespace", "nh-system", *flags)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def only(docs: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container_env(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def granted(docs: Sequence[Mapping[str, Any]]) -> set[Grant]:
    rules = [
        rule for doc in docs if doc["kind"] in ("ClusterRole", "Role") for rule in doc["rules"]
    ]
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_chart_passes_helm_lint_strict(helm: pathlib.Path) -> None:
    result = _helm(helm, "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def test_default_install_is_one_unprivileged_replica_without_leader_election(
    helm: pathlib.Path,
) -> None:
    docs = render(helm)
    deployment = only(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 1
    assert container_env(docs)["NETHEALTH_LEADER_ELECTION"] == "false"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["serviceAccountName"] == only(docs, "ServiceAccount")["metadata"]["name"]
    assert not [doc for doc in docs if doc["kind"] == "ServiceMonitor"]


def test_probes_and_metrics_service_use_the_configured_port(helm: pathlib.Path) -> None:
    docs = render(helm, sets=["metrics.port=9123"])
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9123, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container_env(docs)["NETHEALTH_METRICS_PORT"] == "9123"
    assert only(docs, "Service")["spec"]["ports"][0]["port"] == 9123


def test_operator_learns_its_namespace_from_the_pod(helm: pathlib.Path) -> None:
    env = container_env(render(helm))
    assert env["NETHEALTH_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_two_replicas_turn_on_leader_election(helm: pathlib.Path) -> None:
    docs = render(helm, sets=["replicaCount=2"])
    assert only(docs, "Deployment")["spec"]["replicas"] == 2
    assert container_env(docs)["NETHEALTH_LEADER_ELECTION"] == "true"


def test_service_monitor_scrapes_the_metrics_service_when_enabled(helm: pathlib.Path) -> None:
    docs = render(helm, sets=["metrics.serviceMonitor.enabled=true"])
    monitor = only(docs, "ServiceMonitor")
    service = only(docs, "Service")
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()


def test_probe_image_defaults_to_the_operator_image_and_can_be_overridden(
    helm: pathlib.Path,
) -> None:
    docs = render(helm, sets=["image.tag=1.2.3"])
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container_env(docs)["NETHEALTH_PROBE_IMAGE"] == container["image"]
    assert container["image"].endswith(":1.2.3")
    override = render(helm, sets=["operator.probeImage=example.test/probe:9"])
    assert container_env(override)["NETHEALTH_PROBE_IMAGE"] == "example.test/probe:9"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("replicaCount=3", "/replicaCount"),
        ("metrics.port=0", "/metrics/port"),
        ("operator.maxConcurrentJobs=0", "/operator/maxConcurrentJobs"),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("operator.watchNamespaces[0]=Not_A_Namespace", "/operator/watchNamespaces/0"),
        ("replicas=2", "replicas"),
        ("image.digest=latest", "/image/digest"),
        ("rbac.mode=sometimes", "/rbac/mode"),
        ("operator.allowedProbeImages[0]=a'b", "/operator/allowedProbeImages/0"),
        ("admissionPolicies.validationActions={Deny,Warn}", "/admissionPolicies/validationActions"),
        ("admissionPolicies.validationActions={Refuse}", "/admissionPolicies/validationActions/0"),
    ],
)
def test_bad_values_fail_at_install_naming_the_field(
    helm: pathlib.Path, value: str, field: str
) -> None:
    result = _helm(helm, "template", "nh", str(CHART), "--set", value)
    assert result.returncode != 0
    assert "schema" in result.stderr
    assert field in result.stderr, result.stderr


def test_service_monitor_without_service_is_refused_with_the_reason(helm: pathlib.Path) -> None:
    result = _helm(
        helm,
        "template",
        "nh",
        str(CHART),
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.service.enabled=false",
    )
    assert result.returncode != 0
    assert "metrics.service.enabled" in result.stderr


def test_rbac_grants_nothing_broad_and_no_secrets(helm: pathlib.Path) -> None:
    grants = granted(render(helm))
    assert grants
    assert not [grant for grant in grants if "*" in grant]
    assert not [grant for grant in grants if grant[1].startswith("secrets")]


# Every RBAC mode of the chart: (values, whether it may remediate, whether the operator
# serves a list of namespaces).
RBAC_MODES = {
    "remediate-cluster": ([], True, False),
    "detect-only-cluster": (["rbac.mode=detectOnly"], False, False),
    "remediate-cluster-watching": (["operator.watchNamespaces={apps}"], True, True),
    "remediate-namespaces": (["rbac.namespaces={apps,shop}"], True, True),
    "detect-only-namespaces": (
        ["rbac.mode=detectOnly", "rbac.namespaces={apps,shop}"],
        False,
        True,
    ),
}
CLUSTER_SCOPED = frozenset({"namespaces", "nodes", "customresourcedefinitions"})


@pytest.mark.parametrize(
    ("sets", "remediate", "listed"), RBAC_MODES.values(), ids=RBAC_MODES.keys()
)
def test_rbac_grants_exactly_the_calls_the_operator_makes(
    helm: pathlib.Path, sets: list[str], remediate: bool, listed: bool
) -> None:
    docs = render(helm, sets=sets)
    grants = granted(docs)
    used = grants_used_by_the_code(remediate=remediate, listed=listed)
    assert sorted(used - grants) == [], "the operator makes calls the chart does not grant"
    assert sorted(grants - used) == [], "the chart grants calls the operator never makes"
    assert not [grant for grant in grants if "*" in grant]


def test_detect_only_grants_no_workload_patch_and_no_eviction(helm: pathlib.Path) -> None:
    grants = granted(render(helm, sets=["rbac.mode=detectOnly"]))
    assert not [g for g in grants if g[2] in ("patch", "update") and g[0] == "apps"]
    assert ("", "pods/eviction", "create") not in grants
    assert ("", "pods", "delete") not in grants


def test_namespaced_rbac_grants_nothing_namespaced_cluster_wide(helm: pathlib.Path) -> None:
    docs = render(helm, sets=["rbac.namespaces={apps,shop}"])
    cluster_wide = granted([doc for doc in docs if doc["kind"] == "ClusterRole"])
    assert {grant[1] for grant in cluster_wide} == CLUSTER_SCOPED
    roles = [
        d
        for d in docs
        if d["kind"] == "Role" and not d["metadata"]["name"].endswith("-leader-election")
    ]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["apps", "shop"]
    bindings = [
        d
        for d in docs
        if d["kind"] == "RoleBinding" and d["roleRef"]["name"] == roles[0]["metadata"]["name"]
    ]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["apps", "shop"]
    for role in roles:
        assert not {grant[1] for grant in granted([role])} & CLUSTER_SCOPED
    # The operator is told: it serves and lists only there.
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][1:] == ["--namespace=apps", "--namespace=shop"]
    assert container_env(docs)["NETHEALTH_CONFINED_NAMESPACES"] == "apps,shop"


def test_watching_a_namespace_without_a_role_there_is_refused(helm: pathlib.Path) -> None:
    result = _helm(
        helm,
        "template",
        "nh",
        str(CHART),
        "--set",
        "rbac.namespaces={apps}",
        "--set",
        "operator.watchNamespaces={shop}",
    )
    assert result.returncode != 0
    assert "operator.watchNamespaces: shop is not in rbac.namespaces" in result.stderr


def test_lease_access_is_confined_to_the_release_namespace(helm: pathlib.Path) -> None:
    docs = render(helm)
    cluster_wide = granted([doc for doc in docs if doc["kind"] == "ClusterRole"])
    assert not [grant for grant in cluster_wide if grant[1] == "leases"]
    role = only(docs, "Role")
    assert role["metadata"]["namespace"] == "nh-system"
    assert {grant[1] for grant in granted([role])} == {"leases"}


def test_derived_calls_include_the_ones_the_operator_loop_documents() -> None:
    # A guard on the derivation itself: if parsing kube.Client silently found nothing, the
    # exact-match test above would only compare kopf's grants.
    used = grants_used_by_the_code()
    assert {
        ("", "pods", "list"),
        ("batch", "jobs", "create"),
        (model.GROUP, f"{model.PLURAL}/status", "patch"),
        ("coordination.k8s.io", "leases", "update"),
    } <= used


def test_the_argocd_example_values_pass_the_schema(
    helm: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    application = yaml.safe_load(
        (ROOT / "examples" / "argocd" / "operator-application.yaml").read_text()
    )
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(application["spec"]["source"]["helm"]["valuesObject"]))
    result = _helm(helm, "template", "nh", str(CHART), "--values", str(values))
    assert result.returncode == 0, result.stderr


# --- observability: ServiceMonitor, PrometheusRule ------------------------------------

ALERTS = CHART / "files" / "alerts.yaml"


def test_alerts_are_off_by_default(helm: pathlib.Path) -> None:
    assert not [doc for doc in render(helm) if doc["kind"] == "PrometheusRule"]


def test_the_prometheus_rule_is_the_tested_rule_file_unchanged(helm: pathlib.Path) -> None:
    rule = only(render(helm, sets=["metrics.prometheusRule.enabled=true"]), "PrometheusRule")
    # Parsed, so that toYaml's line folding of the long templates does not matter; equal,
    # so that Helm did not template Prometheus's own {{ $labels }}.
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]
    assert rule["metadata"]["namespace"] == "nh-system"


def test_the_prometheus_rule_carries_the_labels_a_rule_selector_needs(helm: pathlib.Path) -> None:
    sets = ["metrics.prometheusRule.enabled=true", "metrics.prometheusRule.labels.release=kps"]
    rule = only(render(helm, sets=sets), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"


def test_a_runbook_base_url_links_every_alert_to_its_runbook_section(helm: pathlib.Path) -> None:
    base = "https://docs.example.org/nethealth/alerts.md"
    sets = ["metrics.prometheusRule.enabled=true", f"metrics.prometheusRule.runbookBaseURL={base}"]
    rule = only(render(helm, sets=sets), "PrometheusRule")
    runbooks = (ROOT / "docs" / "alerts.md").read_text()
    anchors = {f"#{h.lower()}" for h in re.findall(r"^### (\w+)$", runbooks, re.MULTILINE)}
    for rendered in (r for group in rule["spec"]["groups"] for r in group["rules"]):
        url = rendered["annotations"]["runbook_url"]
        assert url.startswith(base + "#")
        assert url[len(base) :] in anchors, url


def test_a_runbook_base_url_that_is_not_a_url_is_refused(helm: pathlib.Path) -> None:
    result = _helm(
        helm,
        "template",
        "nh",
        str(CHART),
        "--set",
        "metrics.prometheusRule.runbookBaseURL=docs/alerts.md",
    )
    assert result.returncode != 0
    assert "/metrics/prometheusRule/runbookBaseURL" in result.stderr


def test_the_service_monitor_keeps_the_pod_label_and_names_the_job_the_alerts_select(
    helm: pathlib.Path,
) -> None:
    monitor = only(render(helm, sets=["metrics.serviceMonitor.enabled=true"]), "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["honorLabels"] is True
    assert {"targetLabel": "job", "replacement": "nethealth-operator"} in endpoint["relabelings"]
    assert 'job="nethealth-operator"' in ALERTS.read_text()


# --- observability: the Grafana dashboard ------------------------------------------------

DASHBOARD = CHART / "files" / "dashboard.json"


def test_the_dashboard_is_off_by_default(helm: pathlib.Path) -> None:
    assert not [doc for doc in render(helm) if doc["kind"] == "ConfigMap"]


def test_the_dashboard_configmap_carries_the_tested_json_for_grafanas_sidecar(
    helm: pathlib.Path,
) -> None:
    sets = [
        "metrics.grafanaDashboard.enabled=true",
        "metrics.grafanaDashboard.annotations.grafana_folder=Networking",
    ]
    config_map = only(render(helm, sets=sets), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Networking"}
    assert config_map["metadata"]["namespace"] == "nh-system"
    (document,) = config_map["data"].values()
    assert json.loads(document) == json.loads(DASHBOARD.read_text())


def test_the_dashboard_can_go_where_grafana_looks(helm: pathlib.Path) -> None:
    sets = ["metrics.grafanaDashboard.enabled=true", "metrics.grafanaDashboard.namespace=grafana"]
    config_map = only(render(helm, sets=sets), "ConfigMap")
    assert config_map["metadata"]["namespace"] == "grafana"


# --- admission policies (their behaviour: tests/e2e/test_security_admission.py) ---------

POLICIES = ("probe-pods-sealed", "probe-pods", "probe-jobs", "operator-token")


def _policies(docs: Sequence[Mapping[str, Any]], kind: str) -> dict[str, Mapping[str, Any]]:
    prefix = "nh-nethealth-operator-"
    return {d["metadata"]["name"].removeprefix(prefix): d for d in docs if d["kind"] == kind}


def test_admission_policies_are_on_by_default_and_each_is_bound(helm: pathlib.Path) -> None:
    docs = render(helm)
    policies = _policies(docs, "ValidatingAdmissionPolicy")
    bindings = _policies(docs, "ValidatingAdmissionPolicyBinding")
    assert sorted(policies) == sorted(POLICIES) == sorted(bindings)
    for name, binding in bindings.items():
        assert binding["spec"]["policyName"] == policies[name]["metadata"]["name"]
        assert binding["spec"]["validationActions"] == ["Deny"]
        assert policies[name]["spec"]["failurePolicy"] == "Fail"
    assert bindings["probe-pods"]["spec"]["matchResources"]["namespaceSelector"] == {}
    off = render(helm, sets=["admissionPolicies.enabled=false"])
    assert not _policies(off, "ValidatingAdmissionPolicy")


def test_the_policies_can_be_rolled_out_reporting_before_they_refuse(helm: pathlib.Path) -> None:
    """``[Warn, Audit]`` reports what would be refused and refuses nothing: a cluster can
    see what the policies catch before it turns on ``[Deny]``, the default."""
    docs = render(helm, sets=["admissionPolicies.validationActions={Warn,Audit}"])
    bindings = _policies(docs, "ValidatingAdmissionPolicyBinding")
    assert sorted(bindings) == sorted(POLICIES)
    assert {tuple(b["spec"]["validationActions"]) for b in bindings.values()} == {("Warn", "Audit")}


def test_the_probe_pod_policies_apply_where_the_operator_serves(helm: pathlib.Path) -> None:
    for sets in (["operator.watchNamespaces={apps}"], ["rbac.namespaces={apps}"]):
        bindings = _policies(render(helm, sets=sets), "ValidatingAdmissionPolicyBinding")
        selector = {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps"]}
            ]
        }
        for name in ("probe-pods-sealed", "probe-pods", "probe-jobs"):
            assert bindings[name]["spec"]["matchResources"]["namespaceSelector"] == selector
        # The token policy matches the operator's own user name, in every namespace.
        assert "matchResources" not in bindings["operator-token"]["spec"]


def test_the_token_policy_names_the_charts_service_account_and_probe_images(
    helm: pathlib.Path,
) -> None:
    docs = render(helm, sets=["operator.allowedProbeImages={example.test/p:1}"])
    account = only(docs, "ServiceAccount")["metadata"]["name"]
    policy = _policies(docs, "ValidatingAdmissionPolicy")["operator-token"]
    (condition,) = policy["spec"]["matchConditions"]
    assert f"'system:serviceaccount:nh-system:{account}'" in condition["expression"]
    images = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}["images"]
    assert json.loads(images) == [container_env(docs)["NETHEALTH_PROBE_IMAGE"], "example.test/p:1"]


def _shapes(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    policy = _policies(docs, "ValidatingAdmissionPolicy")["operator-token"]
    variables = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}
    return list(json.loads(variables["shapes"]))


def _shape(manifest: Mapping[str, Any]) -> str:
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    return f"{container['args'][0]}:{','.join(container['securityContext']['capabilities']['add'])}"


def test_the_token_may_create_exactly_the_probe_and_cure_job_shapes_the_code_builds(
    helm: pathlib.Path,
) -> None:
    pod = selection.PodRef(namespace="apps", name="web-0", uid="u1", node="n1", ip="198.51.100.7")
    cure = curejob.manifest(pod=pod, hostname="n1", image="i", action=curejob.ADD, check_uid="c")
    check = model.parse(
        {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "metadata": {"name": "c", "namespace": "apps", "uid": "c", "generation": 1},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "targets": [{"name": "api", "host": "203.0.113.1", "port": 443}],
            },
        }
    )
    probe = jobs.manifest(
        owner=jobs.Owner(namespace="apps", name="c", uid="c"),
        spec=check.spec,
        node="n1",
        hostname="n1",
        pods=[pod],
        run="r",
        part=0,
        image="i",
    )
    assert _shapes(render(helm)) == [_shape(probe), _shape(cure)]


def test_another_job_shape_can_be_allowed_for_the_operators_token(helm: pathlib.Path) -> None:
    sets = [
        "admissionPolicies.extraJobShapes[0].arg=extra",
        "admissionPolicies.extraJobShapes[0].add={NET_RAW}",
    ]
    assert _shapes(render(helm, sets=sets))[-1] == "extra:NET_RAW"


def test_the_operator_and_probe_images_can_be_pinned_by_digest(helm: pathlib.Path) -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(helm, sets=[f"image.digest={digest}", "image.tag=1.2.3"])
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"localhost/nethealth/nethealth@{digest}"
    assert container_env(docs)["NETHEALTH_PROBE_IMAGE"] == container["image"]
    policy = _policies(docs, "ValidatingAdmissionPolicy")["operator-token"]
    images = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}["images"]
    assert json.loads(images) == [container["image"]]
