"""`nethealth demo`: the main job on a fresh machine, end to end.

It starts the embedded single-node cluster (or uses the current kubeconfig), installs
the CRD, applies ``examples/demo/`` (a workload and a NetHealthCheck selecting it) and
runs the operator against it, printing what the check's status says as it changes.
The embedded cluster is left running afterwards so that it can be inspected with
kubectl; ``nethealth cluster down`` removes it.

With ``--inject-fault`` it tells the whole story in three steps and then ends: the demo
pod measured Healthy; an on/off policy-rule fault injected into its network namespace
from the node; the check reporting it Degraded, with the probe's class, failure rate and
top hint. The operator's own log goes to a file (its path is printed) so that the story
is not buried in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

HELP = "start the embedded cluster (or use --use-kubeconfig), apply the demo, run the operator"
DEMO_NAMESPACE = "nethealth-demo"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--use-kubeconfig",
        action="store_true",
        help="use the cluster of $KUBECONFIG (or ~/.kube/config) instead of the embedded one",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop the operator after this long (default: run until Ctrl-C)",
    )
    parser.add_argument("--namespace", default=DEMO_NAMESPACE, help="where the demo lives")
    parser.add_argument(
        "--inject-fault",
        action="store_true",
        help="once the demo pod is Healthy, toggle a policy rule in its network namespace"
        " (as root, on this node) so that the check shows it going Degraded",
    )


def _examples_dir() -> pathlib.Path:
    from nethealth.devcluster import images  # noqa: PLC0415

    return images.project_root() / "examples" / "demo"


def _embedded_kubeconfig() -> str:
    from nethealth.devcluster import build, images, layout, node  # noqa: PLC0415

    run_dir = layout.default_run_dir()
    if all(status.alive for status in node.component_status(run_dir)) and node.read_state(
        layout.RunLayout(root=run_dir)
    ):
        state = node.read_state(layout.RunLayout(root=run_dir))
        assert state is not None
        print(f"demo: reusing the running embedded node ({state['node_name']})")
        return state["kubeconfig"]
    print("demo: building (cached) and starting the embedded single-node cluster ...")
    started = node.up(
        run_dir=run_dir,
        kubenode=build.ensure_kubenode().path,
        images=images.build_all(),
        pause_image=images.PAUSE_IMAGE,
    )
    print(f"demo: node {started.node_name} Ready in {max(started.milestones.values()):.1f} s")
    return str(started.kubeconfig)


def _load_demo_docs() -> list[dict[str, Any]]:
    import yaml  # noqa: PLC0415

    docs: list[dict[str, Any]] = []
    for path in sorted(_examples_dir().glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _summarize(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    summary = status.get("summary") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    degraded: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Degraded"), {}
    )
    pods = " ".join(f"{p['name']}={p['state']}" for p in status.get("pods") or [])
    line = (
        f"{obj['metadata']['name']}: selected={summary.get('selected', '-')}"
        f" degraded={summary.get('degraded', '-')} Ready={ready.get('status', '?')}"
        f" ({ready.get('reason', 'no status yet')}: {ready.get('message', '')})"
    )
    if pods:
        line += f"\n  pods: {pods}"
    if degraded.get("status") == "True":
        line += f"\n  Degraded: {degraded.get('message', '')}"
    return line


def _healthy_pod_uid(
    checks: list[dict[str, Any]], *, kubeconfig: str, namespace: str
) -> str | None:
    """The uid of the demo's pod once the check reports it Healthy (then a fault shows)."""
    from nethealth.kube import blocking  # noqa: PLC0415

    for check in checks:
        for pod in (check.get("status") or {}).get("pods") or []:
            if pod.get("state") == "Healthy":
                return blocking.read_pod_uid(
                    kubeconfig=kubeconfig, namespace=namespace, name=pod["name"]
                )
    return None


def _degraded_pod(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first pod a check reports Degraded (status lists pods worst first)."""
    for check in checks:
        for pod in (check.get("status") or {}).get("pods") or []:
            if pod.get("state") == "Degraded":
                return dict(pod)
    return None


def _verdict(pod: dict[str, Any], *, namespace: str) -> str:
    rate = pod.get("failureRate")
    where = pod.get("namespace") or namespace
    lines = [
        f"demo: step 3/3: the check found it: pod {where}/{pod['name']} is Degraded",
        f"  class:     {pod.get('class', 'unknown')}",
    ]
    if rate is not None:
        lines.append(f"  failures:  {rate * 100:.0f} % of {pod.get('samples', '?')} connects")
    lines.append(f"  top hint:  {pod.get('hint') or 'none'}")
    lines.append(
        f"  see also:  kubectl -n {where} get events --field-selector"
        f" involvedObject.name={pod['name']}   (PodNetworkDegraded)"
    )
    return "\n".join(lines)


def _remedy(checks: list[dict[str, Any]]) -> str:
    """What remediation made of it: the demo's check is DryRun, so the exact patch Auto
    would apply (or why it would not)."""
    for check in checks:
        for entry in (check.get("status") or {}).get("remediation") or []:
            lines = [
                f"demo: remediation ({entry['state']}): {entry['message']}",
            ]
            if entry["state"] == "DryRun" and entry.get("patch"):
                spec = json.loads(entry["patch"])["spec"]["template"]["spec"]
                lines.append(f"  would apply: {json.dumps(spec, sort_keys=True)}")
                lines.append("  to apply it: set spec.remediation.mode: Auto (docs/remediation.md)")
            return "\n".join(lines)
    return "demo: remediation: nothing planned (see the check's conditions)"


def _watch(*, args: argparse.Namespace, kubeconfig: str, operator: subprocess.Popen[bytes]) -> str:
    """Prints the checks' status as it changes (and injects the fault when asked).

    Returns the last status printed, or "" when the demo did not show what it should
    (with ``--inject-fault``: the pod going Degraded)."""
    from nethealth import model  # noqa: PLC0415
    from nethealth.kube import blocking  # noqa: PLC0415

    started = time.monotonic()
    deadline = None if args.duration is None else started + args.duration
    last = ""
    with contextlib.ExitStack() as fault:
        injected = False
        try:
            while operator.poll() is None and (deadline is None or time.monotonic() < deadline):
                checks = blocking.read_custom_objects(
                    group=model.GROUP,
                    version=model.VERSION,
                    plural=model.PLURAL,
                    namespace=args.namespace,
                    kubeconfig=kubeconfig,
                )
                text = "\n".join(_summarize(c) for c in checks)
                if text != last:
                    elapsed = int(time.monotonic() - started)
                    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)
                    last = text
                if args.inject_fault and not injected:
                    injected = _inject(fault, checks=checks, kubeconfig=kubeconfig, args=args)
                if injected and (pod := _degraded_pod(checks)) is not None:
                    print(_verdict(pod, namespace=args.namespace), flush=True)
                    print(_remedy(checks), flush=True)
                    print("demo: removing the fault; done", flush=True)
                    return last
                time.sleep(2)
        except KeyboardInterrupt:
            pass
    if args.inject_fault:
        print("demo: the pod was not reported Degraded before the demo ended", flush=True)
        return ""
    return last


def _inject(
    stack: contextlib.ExitStack[bool | None],
    *,
    checks: list[dict[str, Any]],
    kubeconfig: str,
    args: argparse.Namespace,
) -> bool:
    uid = _healthy_pod_uid(checks, kubeconfig=kubeconfig, namespace=args.namespace)
    if uid is None:
        return False
    from nethealth.testing import faults  # noqa: PLC0415

    print(
        "demo: step 1/3: the demo pod is measured Healthy\n"
        "demo: step 2/3: injecting an on/off fault (TCP port 443 unreachable, toggled every"
        " 2 s) into the demo pod's network namespace, from the node; the check needs 2"
        " failing runs (about a minute) to call it Degraded",
        flush=True,
    )
    stack.enter_context(faults.on_off(pod_uid=uid, port=443))
    return True


def run(args: argparse.Namespace) -> int:
    from nethealth.kube import blocking  # noqa: PLC0415
    from nethealth.model import definition  # noqa: PLC0415

    if args.use_kubeconfig:
        kubeconfig = os.environ.get("KUBECONFIG") or str(pathlib.Path.home() / ".kube/config")
    else:
        if os.geteuid() != 0:
            raise SystemExit(
                "nethealth demo: the embedded cluster needs root (or --use-kubeconfig)"
            )
        kubeconfig = _embedded_kubeconfig()
    manifest = definition.manifest()
    namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.namespace}}
    blocking.apply_manifests(
        docs=[manifest, namespace_doc],
        kubeconfig=kubeconfig,
        namespace=args.namespace,
        field_manager="nethealth-demo",
    )
    blocking.wait_for_crd(name=manifest["metadata"]["name"], kubeconfig=kubeconfig)
    for applied in blocking.apply_manifests(
        docs=_load_demo_docs(),
        kubeconfig=kubeconfig,
        namespace=args.namespace,
        field_manager="nethealth-demo",
    ):
        print(f"demo: applied {applied} in {args.namespace}")
    from nethealth.devcluster import images  # noqa: PLC0415

    env = {**os.environ, "KUBECONFIG": kubeconfig}
    env.setdefault("NETHEALTH_PROBE_IMAGE", images.NETHEALTH_IMAGE)
    env.setdefault("NETHEALTH_METRICS_PORT", "0")  # a demo needs no scrape endpoint
    log_path = pathlib.Path(tempfile.gettempdir()) / "nethealth-demo-operator.log"
    print(f"demo: running the operator (Ctrl-C stops it); its log: {log_path}")
    with log_path.open("wb") as log:
        operator = subprocess.Popen(
            [sys.executable, "-m", "nethealth", "operator", "--namespace", args.namespace],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        last = _watch(args=args, kubeconfig=kubeconfig, operator=operator)
    finally:
        if operator.poll() is None:
            operator.send_signal(signal.SIGINT)
            try:
                operator.wait(timeout=20)
            except subprocess.TimeoutExpired:
                operator.kill()
                operator.wait()
    if not args.use_kubeconfig:
        print(
            f"demo: the embedded cluster is still up: export KUBECONFIG={kubeconfig}; "
            "kubectl get nethc -A; stop it with `nethealth cluster down`"
        )
    return 0 if last else 1
