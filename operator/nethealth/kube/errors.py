"""The one error type of the API layer, and the one place client exceptions become it.

Callers above ``kube`` never import the client's exception types: every failed call is a
``KubeError`` naming the verb and the object, with the HTTP status when there was one and
the API server's own message (a 409's conflicting manager, a 422's invalid field), which is
what a person needs in a log line or a status message.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator


class KubeError(RuntimeError):
    """A call failed, or there is no cluster to call; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Runs a client call, turning its exceptions into ``KubeError`` about ``what``."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415 - heavy
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    try:
        yield
    except ApiException as exc:
        raise KubeError(
            f"{what}: {exc.status} {exc.reason}{_detail(exc.body)}", status=exc.status
        ) from exc
    except HTTPError as exc:
        raise KubeError(f"{what}: cannot reach the API server: {exc}") from exc


def _detail(body: object) -> str:
    """The API server's ``Status.message``, when the answer carries one."""
    try:
        message = json.loads(body).get("message") if isinstance(body, str | bytes) else None
    except (ValueError, AttributeError):
        message = None
    return f": {message}" if message else ""
