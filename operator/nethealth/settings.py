"""The operator's settings: read once from the environment into a frozen value.

Every knob an administrator may turn lives here, with its environment variable, so the
Helm chart and the docs have one place to look. kopf's own settings are applied in
``configure_kopf`` and nowhere else.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import nethealth

DEFAULT_NAMESPACE = "nethealth-system"
# The image the project's own build produces (devcluster.images.NETHEALTH_IMAGE).
DEFAULT_PROBE_IMAGE = f"localhost/nethealth/nethealth:{nethealth.__version__}"


WATCH_ENV = "NETHEALTH_WATCH_NAMESPACES"  # set by `nethealth operator --namespace`
CONFINED_ENV = "NETHEALTH_CONFINED_NAMESPACES"  # the chart's rbac.namespaces


class SettingsError(ValueError):
    """An environment variable holds a value the operator cannot use."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    namespace: str  # where the operator runs: the only place a namespaceSelector is honoured
    probe_image: str  # the image of probe Jobs unless a check overrides it
    max_concurrent_jobs: int  # a cluster-wide cap on probe Jobs in flight
    field_manager: str  # the server-side apply manager name; Argo CD users ignore its fields
    metrics_port: int  # /metrics and /healthz; 0 turns the endpoint off
    leader_election: bool  # hold a Lease in `namespace`; needed with more than one replica
    # Images a check's spec.probe.image may name (the probe runs privileged, hostPID): the
    # operator's own probe image is always allowed, anything else only when listed here.
    allowed_probe_images: frozenset[str] = frozenset()
    max_remediated_pods: int = 10  # pods all checks together may have moved to hostNetwork
    node_network_eligible: bool = False  # also remediate class NodeNetwork (not only PodNamespace)
    # `nethealth operator --namespace NS` (repeatable): the namespaces it serves; empty: all.
    # Its sweeps of orphaned Jobs and changes keep to them, never another operator's.
    watched_namespaces: frozenset[str] = frozenset()
    # Probe Jobs shared by the checks due in one tick, one per namespace and node
    # (``detection/batching``); the checks of a namespace then share their rhythm.
    batch_probe_jobs: bool = False
    # Targets on loopback, link-local addresses or the nodes' own (detection.targetsafety):
    # refused unless an administrator allows them.
    allow_node_local_targets: bool = False
    # The namespaces its RBAC Roles cover (chart rbac.namespaces): it lists Jobs, pods,
    # checks and workloads in each of them, never cluster-wide. Empty: cluster-wide.
    confined_namespaces: frozenset[str] = frozenset()


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be an integer >= {minimum}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be an integer >= {minimum}")
    return value


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        namespace=env.get("NETHEALTH_NAMESPACE") or DEFAULT_NAMESPACE,
        probe_image=env.get("NETHEALTH_PROBE_IMAGE") or DEFAULT_PROBE_IMAGE,
        max_concurrent_jobs=_int(env, "NETHEALTH_MAX_CONCURRENT_JOBS", 20, minimum=1),
        field_manager="nethealth-operator",
        metrics_port=_port(env, "NETHEALTH_METRICS_PORT", 8080),
        leader_election=_bool(env, "NETHEALTH_LEADER_ELECTION", default=False),
        allowed_probe_images=frozenset(
            image.strip()
            for image in (env.get("NETHEALTH_ALLOWED_PROBE_IMAGES") or "").split(",")
            if image.strip()
        ),
        max_remediated_pods=_int(env, "NETHEALTH_MAX_REMEDIATED_PODS", 10, minimum=0),
        node_network_eligible=_bool(env, "NETHEALTH_REMEDIATE_NODE_NETWORK", default=False),
        watched_namespaces=frozenset(
            ns.strip() for ns in (env.get(WATCH_ENV) or "").split(",") if ns.strip()
        ),
        batch_probe_jobs=_bool(env, "NETHEALTH_BATCH_PROBE_JOBS", default=False),
        allow_node_local_targets=_bool(env, "NETHEALTH_ALLOW_NODE_LOCAL_TARGETS", default=False),
        confined_namespaces=_names(env.get(CONFINED_ENV)),
    )


def _names(raw: str | None) -> frozenset[str]:
    return frozenset(name.strip() for name in (raw or "").split(",") if name.strip())


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name}={raw!r}: must be true or false")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default, minimum=0)
    if value > 65535:
        raise SettingsError(f"{name}={value}: must be a port number 1-65535, or 0 (off)")
    return value


def configure_kopf(*, kopf_settings: Any, settings: Settings) -> None:
    """Applies our choices to kopf's settings (typed ``Any``: kopf ships no stubs for mypy).

    Progress and diff-base live in ``status.kopf`` rather than annotations: a GitOps tool
    diffs metadata and spec, never status, so the operator's bookkeeping can't show up as
    drift in Argo CD.
    """
    import kopf  # noqa: PLC0415 - the probe image must not import kopf on its path

    kopf_settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf")
    kopf_settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage()
    kopf_settings.posting.reporting_component = settings.field_manager
    kopf_settings.peering.standalone = True
    kopf_settings.watching.server_timeout = 300
    kopf_settings.watching.client_timeout = 330
