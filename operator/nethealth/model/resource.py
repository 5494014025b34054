"""The NetHealthCheck resource as a whole: its API names, and ``parse(body)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nethealth import schema
from nethealth.model.spec import SPEC, Spec
from nethealth.model.status import EMPTY_STATUS, STATUS, Status

GROUP = "nethealth.io"
VERSION = "v1alpha1"
KIND = "NetHealthCheck"
PLURAL = "nethealthchecks"
SINGULAR = "nethealthcheck"
SHORT_NAMES = ("nethc",)
API_VERSION = f"{GROUP}/{VERSION}"


SpecError = schema.SpecError


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetHealthCheck:
    name: str
    namespace: str
    uid: str | None
    generation: int | None
    spec: Spec
    status: Status


def parse_spec(raw: object) -> Spec:
    """A raw spec as typed values with defaults applied; raises SpecError naming the field."""
    return SPEC.load(raw, path="spec", field="spec")


def parse_status(raw: object) -> Status:
    return STATUS.load(raw, path="status", field="status")


def parse(body: Mapping[str, Any]) -> NetHealthCheck:
    """A NetHealthCheck body (dict or kopf Body) as typed values; raises SpecError."""
    if body.get("apiVersion", API_VERSION) != API_VERSION or body.get("kind", KIND) != KIND:
        raise SpecError(path="kind", message=f"must be {KIND} of {API_VERSION}")
    metadata = body.get("metadata") or {}
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not name or not namespace:
        raise SpecError(path="metadata", message="name and namespace are required")
    if "spec" not in body:
        raise SpecError(path="spec", message="spec is required")
    status = body.get("status")
    return NetHealthCheck(
        name=name,
        namespace=namespace,
        uid=metadata.get("uid"),
        generation=metadata.get("generation"),
        spec=parse_spec(body["spec"]),
        status=EMPTY_STATUS if not status else parse_status(status),
    )


def dump_status(status: Status) -> dict[str, Any]:
    """Status as JSON; unset fields (None, no conditions, no pods) are left out.

    Left out is not cleared by a merge patch: to clear a field, patch it with null.
    """
    dumped = STATUS.dump(status)
    assert isinstance(dumped, dict)
    return dumped
