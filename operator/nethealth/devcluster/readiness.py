"""Waiting until a node's parts serve, with the reason when one never does.

Plain HTTP(S) with the admin client certificate: the harness must not depend on
the Kubernetes client (it runs before anything else is ready, and the CLI keeps
heavy imports out). Each wait watches the process it waits for, so a component
that exits fails the start at once with the tail of its log instead of after a
timeout.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypedDict

from nethealth.devcluster import pki

POLL_SECONDS = 0.2


class NotReady(Exception):
    """A component did not become ready (or exited); the message says which and why."""


class _Condition(TypedDict):
    type: str
    status: str


def client_context(certs: pki.Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca.cert))
    context.load_cert_chain(str(certs.admin.cert), str(certs.admin.key))
    return context


def fetch(url: str, *, context: ssl.SSLContext | None = None, timeout: float = 3.0) -> object:
    """GET ``url``: parsed JSON, the text for non-JSON, None for 404 or no answer."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            return None
        raise NotReady(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def healthy(url: str, *, context: ssl.SSLContext | None = None) -> bool:
    """Whether ``url`` answers 200 (``/readyz``, ``/healthz``: anything else is not yet)."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=3.0) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        exc.close()  # an error response holds its connection open until closed
        return False
    except (urllib.error.URLError, OSError):
        return False


def wait_for(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    watched: dict[str, subprocess.Popen[bytes]],
) -> None:
    """Poll ``check`` until true; fail early if a watched process exits."""
    deadline = time.monotonic() + timeout
    while True:
        for name, process in watched.items():
            code = process.poll()
            if code is not None:
                raise NotReady(f"{name} exited with code {code} while waiting for {what}")
        if check():
            return
        if time.monotonic() > deadline:
            raise NotReady(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def node_is_ready(*, api: str, context: ssl.SSLContext, node_name: str) -> bool:
    node = fetch(f"{api}/api/v1/nodes/{node_name}", context=context)
    if not isinstance(node, dict):
        return False
    conditions: list[_Condition] = node.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def service_account_exists(*, api: str, context: ssl.SSLContext, namespace: str) -> bool:
    account = fetch(f"{api}/api/v1/namespaces/{namespace}/serviceaccounts/default", context=context)
    return isinstance(account, dict)


def deployment_is_available(
    *, api: str, context: ssl.SSLContext, namespace: str, name: str
) -> bool:
    """Whether every replica the Deployment wants is Ready."""
    deployment = fetch(
        f"{api}/apis/apps/v1/namespaces/{namespace}/deployments/{name}", context=context
    )
    if not isinstance(deployment, dict):
        return False
    wanted = int(deployment.get("spec", {}).get("replicas", 1))
    return int(deployment.get("status", {}).get("readyReplicas", 0)) >= wanted
