"""Record NetHealthCheck objects, as the real operator leaves them, for the Argo CD health
check's test (tests/unit/test_argocd_health.py reads tests/unit/fixtures/argocd/).

The Lua script reads only what the operator writes into ``status``; statuses built by hand
in a test would agree with the script by construction. These are recorded instead: the
operator runs as a process (``operator_harness.operator``) against the real cluster,
probes a bare pod and a Deployment's pod, and the fault of ``nethealth.testing.faults.on_off`` (a
policy rule toggled in the pod's network namespace, from the node) degrades both; the
Deployment's check is in mode Auto, so the operator moves it to hostNetwork and verifies
it. A watch keeps every version of
the checks; afterwards the first version at each moment the health check must tell apart
is written to ``<moment>.yaml``.

Re-record (root on the dev cluster's node, about 5 minutes; everything it creates is in
one fresh namespace, deleted at the end):

    NETHEALTH_KUBECONFIG=/var/lib/nethealth-devcluster/admin.kubeconfig \\
        .venv/bin/python tests/e2e/record_argocd_statuses.py

Only ``metadata.managedFields`` is dropped (noise); the rest is verbatim.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import kubernetes
import operator_harness as h
import remediation_helpers
import urllib3
import yaml

from nethealth import model
from nethealth.testing import faults

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "unit" / "fixtures" / "argocd"
WORKLOAD = "ha"
NOBODY = "nobody"  # a check whose selector matches no pod
REMEDIATED = "web"  # a Deployment's pod, its check in mode Auto: moved to hostNetwork

Obj = dict[str, Any]


def _pod_state(obj: Obj) -> str | None:
    return h.pod_state(obj, WORKLOAD)


def _observed(obj: Obj) -> bool:
    status = obj.get("status") or {}
    return bool(status.get("observedGeneration") == obj["metadata"].get("generation"))


def _workload_state(obj: Obj) -> str | None:
    return h.remediation_entry(obj, REMEDIATED).get("state")


# moment -> (which check, what the moment is, how to find its first version)
MOMENTS: dict[str, tuple[str, str, Callable[[Obj], bool]]] = {
    "created": (
        WORKLOAD,
        "as created, before the operator wrote any status",
        lambda o: "status" not in o,
    ),
    "accepted": (
        WORKLOAD,
        "the operator accepted the check and selected the pod, before the first probe run",
        lambda o: (
            h.condition(o, "Ready").get("status") == "True" and not h.condition(o, "Degraded")
        ),
    ),
    "healthy": (WORKLOAD, "first run: the pod is Healthy", lambda o: _pod_state(o) == "Healthy"),
    "suspect": (
        WORKLOAD,
        "one failing run with the fault on: Suspect, not yet Degraded",
        lambda o: _pod_state(o) == "Suspect",
    ),
    "degraded": (
        WORKLOAD,
        "consecutive failing runs: the pod is Degraded (remediation mode DryRun)",
        lambda o: _pod_state(o) == "Degraded",
    ),
    "edited-while-degraded": (
        WORKLOAD,
        "right after a spec edit (probe.attempts), before the operator observed it",
        lambda o: o["metadata"].get("generation") == 2 and not _observed(o),
    ),
    "edit-observed": (
        WORKLOAD,
        "the operator observed the edited spec (observedGeneration caught up)",
        lambda o: o["metadata"].get("generation") == 2 and _observed(o),
    ),
    "recovering": (
        WORKLOAD,
        "the fault removed, one passing run: Recovering",
        lambda o: _pod_state(o) == "Recovering",
    ),
    "recovered": (
        WORKLOAD,
        "recoveryRuns passing runs after the fault: Healthy again",
        lambda o: _pod_state(o) == "Healthy" and o["metadata"].get("generation") == 2,
    ),
    "remediation-verifying": (
        REMEDIATED,
        "mode Auto moved the Deployment to hostNetwork; its new pod not yet judged",
        lambda o: _workload_state(o) == "Verifying",
    ),
    "remediated": (
        REMEDIATED,
        "the Deployment's new pod on hostNetwork measured healthy: Remediated",
        lambda o: _workload_state(o) == "Remediated",
    ),
    "no-pods-selected": (
        NOBODY,
        "a check whose selector matches no pod",
        lambda o: h.condition(o, "Ready").get("reason") == "NoPodsSelected",
    ),
}


def _summary(obj: Obj) -> str:
    """One line per version, so a run that misses a moment shows what happened instead."""
    status = obj.get("status") or {}
    conditions = " ".join(
        f"{c['type']}={c['status']}/{c.get('reason')}" for c in status.get("conditions") or []
    )
    pods = ",".join(f"{p['name']}:{p['state']}" for p in status.get("pods") or [])
    return (
        f"{time.strftime('%H:%M:%S')} {obj['metadata']['name']} "
        f"gen {obj['metadata'].get('generation')}/{status.get('observedGeneration')} "
        f"{conditions} pods {pods or '-'}"
    )


class Recorder:
    """Every version of the namespace's checks, in order, from a watch in a thread.

    A watch can end at any time (the API server closes it, a proxy times out): it is
    resumed from the last version seen, and versions are kept once each.
    """

    def __init__(self, *, api: kubernetes.client.ApiClient, namespace: str) -> None:
        self.versions: list[Obj] = []
        self._seen: set[str] = set()
        self._custom = kubernetes.client.CustomObjectsApi(api)
        self._namespace = namespace
        self._watch = kubernetes.watch.Watch()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def keep(self, obj: Obj) -> None:
        version = obj["metadata"]["resourceVersion"]
        if version not in self._seen:
            self._seen.add(version)
            self.versions.append(obj)
            print(_summary(obj), flush=True)

    def _follow(self) -> None:
        since: str | None = None
        while not self._stopped.is_set():
            try:
                for event in self._watch.stream(
                    self._custom.list_namespaced_custom_object,
                    model.GROUP,
                    model.VERSION,
                    self._namespace,
                    model.PLURAL,
                    resource_version=since,
                    timeout_seconds=60,
                ):
                    self.keep(event["object"])
                    since = event["object"]["metadata"]["resourceVersion"]
            except (urllib3.exceptions.HTTPError, kubernetes.client.ApiException) as error:
                print(f"watch ended ({error}); resuming", file=sys.stderr)
                since = None  # a fresh list: versions already kept are skipped
                time.sleep(0.5)

    def stop(self) -> None:
        self._stopped.set()
        self._watch.stop()

    def first(self, *, name: str, when: Callable[[Obj], bool]) -> Obj | None:
        return next((o for o in self.versions if o["metadata"]["name"] == name and when(o)), None)


def _wait(recorder: Recorder, *, moment: str, timeout: float) -> Obj:
    name, _, when = MOMENTS[moment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = recorder.first(name=name, when=when)
        if found is not None:
            return found
        time.sleep(0.5)
    raise SystemExit(f"no version of {name} at moment {moment!r} within {timeout:.0f} s")


def _scenario(api: kubernetes.client.ApiClient, *, namespace: str, recorder: Recorder) -> None:
    pod = h.workload(api, namespace=namespace, name=WORKLOAD)
    web = h.deployment(api, namespace=namespace, name=REMEDIATED)
    created = h.create_check(api, namespace=namespace, body=h.check_body(WORKLOAD, app=WORKLOAD))
    recorder.keep(created)  # as the API server returns it: no status yet
    h.create_check(api, namespace=namespace, body=h.check_body(NOBODY, app=NOBODY))
    auto = h.check_body(REMEDIATED, app=REMEDIATED, remediation={"mode": "Auto"})
    h.create_check(api, namespace=namespace, body=auto)
    _wait(recorder, moment="healthy", timeout=120)
    _wait(recorder, moment="no-pods-selected", timeout=60)
    port = h.API_TARGET["port"]
    with (
        faults.on_off(pod_uid=pod["metadata"]["uid"], port=port),
        faults.on_off(pod_uid=web["metadata"]["uid"], port=port),
    ):
        _wait(recorder, moment="degraded", timeout=180)
        edited = kubernetes.client.CustomObjectsApi(api).patch_namespaced_custom_object(
            model.GROUP,
            model.VERSION,
            namespace,
            model.PLURAL,
            WORKLOAD,
            {"spec": {"probe": {"attempts": 30}}},
        )
        recorder.keep(edited)  # the edit's own version: the old status, a new generation
        _wait(recorder, moment="edit-observed", timeout=60)
        _wait(recorder, moment="remediation-verifying", timeout=180)
    _wait(recorder, moment="remediated", timeout=200)
    _wait(recorder, moment="recovering", timeout=120)
    _wait(recorder, moment="recovered", timeout=120)
    # Deleted while the operator runs: it reverts the Deployment and lifts its finalizer.
    custom = kubernetes.client.CustomObjectsApi(api)
    custom.delete_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, REMEDIATED
    )
    deadline = time.monotonic() + 90
    while any(o["metadata"]["name"] == REMEDIATED for o in _checks(api, namespace=namespace)):
        if time.monotonic() > deadline:
            raise SystemExit(f"check {REMEDIATED} not gone 90 s after its deletion")
        time.sleep(1)


def _checks(api: kubernetes.client.ApiClient, *, namespace: str) -> list[Obj]:
    listed = kubernetes.client.CustomObjectsApi(api).list_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL
    )
    items: list[Obj] = listed["items"]
    return items


def _cleaned(obj: Obj) -> Obj:
    metadata = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {**obj, "metadata": metadata}


def _write(recorder: Recorder, *, out: pathlib.Path, server: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for moment, (name, description, when) in MOMENTS.items():
        found = recorder.first(name=name, when=when)
        if found is None:
            raise SystemExit(f"no version of {name} at moment {moment!r} was recorded")
        header = (
            f"# Recorded by tests/e2e/record_argocd_statuses.py at {stamp} from the dev\n"
            f"# cluster (Kubernetes {server}); do not edit, re-record.\n"
        )
        body = yaml.safe_dump(
            {"moment": moment, "description": description, "object": _cleaned(found)},
            sort_keys=False,
            width=100,
        )
        (out / f"{moment}.yaml").write_text(header + body, encoding="utf-8")
        print(f"wrote {out / f'{moment}.yaml'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kubeconfig",
        type=pathlib.Path,
        default=os.environ.get("NETHEALTH_KUBECONFIG"),
        help="the dev cluster's admin kubeconfig (default: $NETHEALTH_KUBECONFIG)",
    )
    parser.add_argument("--out", type=pathlib.Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args()
    if args.kubeconfig is None:
        parser.error("--kubeconfig (or NETHEALTH_KUBECONFIG) is required")
    api = kubernetes.config.new_client_from_config(str(args.kubeconfig))
    core = kubernetes.client.CoreV1Api(api)
    server = kubernetes.client.VersionApi(api).get_code().git_version
    namespace = f"t-argocd-{secrets.token_hex(3)}"
    h.install_crd(api)
    core.create_namespace(
        {"metadata": {"name": namespace, "labels": {"nethealth.test/e2e": "true"}}}
    )
    recorder = Recorder(api=api, namespace=namespace)
    log = pathlib.Path(tempfile.mkdtemp(prefix="nethealth-record-")) / "operator.log"
    try:
        with h.operator(kubeconfig=args.kubeconfig, log=log, namespaces=(namespace,)):
            _scenario(api, namespace=namespace, recorder=recorder)
        _write(recorder, out=args.out, server=server)
    finally:
        recorder.stop()
        # Without the operator nothing lifts a revert-on-delete finalizer and the namespace
        # would never go: only for a run that failed half-way.
        remediation_helpers.release_checks(api, namespace=namespace)
        every = log.with_name("versions.yaml")
        every.write_text(yaml.safe_dump_all(recorder.versions), encoding="utf-8")
        print(f"every version recorded: {every}; the operator's log: {log}")
        core.delete_namespace(namespace)
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=1)
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
