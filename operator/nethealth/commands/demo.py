"""`nethealth demo`: the main job on a fresh machine, end to end.

It starts the embedded single-node cluster (or uses the current kubeconfig), installs
the CRD, applies ``examples/demo/`` (a workload and a NetHealthCheck selecting it) and
runs the operator against it, printing what the check's status says as it changes.
The embedded cluster is left running afterwards so that it can be inspected with
kubectl; ``nethealth cluster down`` removes it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import signal
import subprocess
import sys
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
    from nethealth import kube  # noqa: PLC0415

    for check in checks:
        for pod in (check.get("status") or {}).get("pods") or []:
            if pod.get("state") == "Healthy":
                return kube.read_pod_uid(
                    kubeconfig=kubeconfig, namespace=namespace, name=pod["name"]
                )
    return None


def _watch(*, args: argparse.Namespace, kubeconfig: str, operator: subprocess.Popen[bytes]) -> str:
    """Prints the checks' status as it changes (and injects the fault when asked)."""
    from nethealth import kube, model  # noqa: PLC0415

    deadline = None if args.duration is None else time.monotonic() + args.duration
    last = ""
    with contextlib.ExitStack() as fault:
        injected = False
        try:
            while operator.poll() is None and (deadline is None or time.monotonic() < deadline):
                checks = kube.read_custom_objects(
                    group=model.GROUP,
                    version=model.VERSION,
                    plural=model.PLURAL,
                    namespace=args.namespace,
                    kubeconfig=kubeconfig,
                )
                text = "\n".join(_summarize(c) for c in checks)
                if text != last:
                    print(text, flush=True)
                    last = text
                if args.inject_fault and not injected:
                    injected = _inject(fault, checks=checks, kubeconfig=kubeconfig, args=args)
                time.sleep(2)
        except KeyboardInterrupt:
            pass
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
    from nethealth import faults  # noqa: PLC0415

    print(
        "demo: injecting an on/off fault (TCP port 443 unreachable, toggled every 2 s) into"
        " the demo pod's network namespace",
        flush=True,
    )
    stack.enter_context(faults.on_off(pod_uid=uid, port=443))
    return True


def run(args: argparse.Namespace) -> int:
    from nethealth import crd, kube  # noqa: PLC0415

    if args.use_kubeconfig:
        kubeconfig = os.environ.get("KUBECONFIG") or str(pathlib.Path.home() / ".kube/config")
    else:
        if os.geteuid() != 0:
            raise SystemExit(
                "nethealth demo: the embedded cluster needs root (or --use-kubeconfig)"
            )
        kubeconfig = _embedded_kubeconfig()
    manifest = crd.manifest()
    namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.namespace}}
    kube.apply_manifests(
        docs=[manifest, namespace_doc],
        kubeconfig=kubeconfig,
        namespace=args.namespace,
        field_manager="nethealth-demo",
    )
    kube.wait_for_crd(name=manifest["metadata"]["name"], kubeconfig=kubeconfig)
    for applied in kube.apply_manifests(
        docs=_load_demo_docs(),
        kubeconfig=kubeconfig,
        namespace=args.namespace,
        field_manager="nethealth-demo",
    ):
        print(f"demo: applied {applied} in {args.namespace}")
    print("demo: running the operator (Ctrl-C stops it) ...")
    from nethealth.devcluster import images  # noqa: PLC0415

    env = {**os.environ, "KUBECONFIG": kubeconfig}
    env.setdefault("NETHEALTH_PROBE_IMAGE", images.NETHEALTH_IMAGE)
    env.setdefault("NETHEALTH_METRICS_PORT", "0")  # a demo needs no scrape endpoint
    operator = subprocess.Popen(
        [sys.executable, "-m", "nethealth", "operator", "--namespace", args.namespace],
        env=env,
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
