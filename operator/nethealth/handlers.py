"""kopf handlers: thin. Watch events feed the supervisor of the per-check loops.

Importing this module registers the handlers with kopf's default registry, which is
what ``kopf.run`` (see ``commands/operator.py``) serves.

Why a watch-event handler and our own per-check tasks rather than ``kopf.daemon``: kopf
puts a finalizer on every object that has a daemon or timer, so deleting a check would
hang while the operator is down, and the operator would write to ``metadata`` of a
GitOps-managed object. A raw event handler needs no finalizer; the probe Jobs carry an
owner reference, so the garbage collector removes them with the check.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import kopf

from nethealth import kube, metrics, model
from nethealth import settings as settings_module
from nethealth.kube import view, watching
from nethealth.loop import clock, leadership, supervisor
from nethealth.model import raw

SETTINGS = settings_module.from_env()
OBSERVER = metrics.Observer()
SUPERVISOR: supervisor.Supervisor | None = None
METRICS_SERVER: metrics.Server | None = None
ELECTION: asyncio.Task[None] | None = None
WATCHES: watching.Watches | None = None


@kopf.on.startup()
async def start(
    settings: kopf.OperatorSettings, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
) -> None:
    global SUPERVISOR, METRICS_SERVER, ELECTION, WATCHES  # noqa: PLW0603 - one each per process
    settings_module.configure_kopf(kopf_settings=settings, settings=SETTINGS)
    api = kube.Client.for_operator(
        field_manager=SETTINGS.field_manager, namespaces=SETTINGS.confined_namespaces
    )
    wall = clock.SystemClock()
    shared, WATCHES = watching.shared_view(
        api.connection, namespaces=SETTINGS.watched_namespaces, fallback=view.Listing(api)
    )
    WATCHES.start()
    SUPERVISOR = supervisor.Supervisor(
        api=api, clock=wall, settings=SETTINGS, observer=OBSERVER, view=shared
    )
    if SETTINGS.leader_election:
        ELECTION = asyncio.create_task(
            leadership.lead(
                api=api,
                clock=wall,
                namespace=SETTINGS.namespace,
                identity=f"{socket.gethostname()}-{os.getpid()}",
                on_elected=SUPERVISOR.activate,
                on_deposed=_deposed,
            )
        )
    else:
        SUPERVISOR.activate()
    if SETTINGS.metrics_port:
        METRICS_SERVER = await metrics.serve(observer=OBSERVER, port=SETTINGS.metrics_port)
        logger.info("metrics on :%d/metrics, liveness on /healthz", SETTINGS.metrics_port)


def _deposed() -> None:
    """A standby stops its loops and drops its gauges: only the leader's view is served."""
    if SUPERVISOR is not None:
        SUPERVISOR.deactivate()
    OBSERVER.deposed()


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    if ELECTION is not None:
        ELECTION.cancel()
    if SUPERVISOR is not None:
        await SUPERVISOR.stop()
    if METRICS_SERVER is not None:
        await METRICS_SERVER.cleanup()
    if WATCHES is not None:
        WATCHES.stop()


@kopf.on.event(model.GROUP, model.VERSION, model.PLURAL)
async def observe(event: kopf.RawEvent, **_: Any) -> None:
    if SUPERVISOR is None:
        return
    body = event["object"]
    if event["type"] == "DELETED":
        SUPERVISOR.gone(raw.uid(body))
        OBSERVER.check_gone(raw.key(body))
    else:
        SUPERVISOR.seen(body)
