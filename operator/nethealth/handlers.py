"""kopf handlers: thin. Parse the body, ask the pure modules, write the status.

Importing this module registers the handlers with kopf's default registry, which is
what ``kopf.run`` (see ``commands/operator.py``) serves.
"""

from __future__ import annotations

import datetime
from typing import Any

import kopf

from nethealth import acceptance, kube, model
from nethealth import settings as settings_module

SETTINGS = settings_module.from_env()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings_module.configure_kopf(kopf_settings=settings, settings=SETTINGS)


@kopf.on.resume(model.GROUP, model.VERSION, model.PLURAL)
@kopf.on.create(model.GROUP, model.VERSION, model.PLURAL)
@kopf.on.update(model.GROUP, model.VERSION, model.PLURAL, field="spec")
async def accept(
    body: kopf.Body, status: kopf.Status, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    await _reconcile(body=body, status=status, patch=patch, logger=logger)


# Pods come and go without the check changing: recount them now and then. Issue 5's
# probe scheduling replaces this with the real per-interval run.
@kopf.timer(model.GROUP, model.VERSION, model.PLURAL, interval=20, initial_delay=5, idle=5)
async def recount(
    body: kopf.Body, status: kopf.Status, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    await _reconcile(body=body, status=status, patch=patch, logger=logger)


async def _reconcile(
    *, body: kopf.Body, status: kopf.Status, patch: kopf.Patch, logger: Any
) -> None:
    generation = body.metadata.get("generation")
    selected: int | None = None
    try:
        check = model.parse(body)
    except model.SpecError as error:
        verdict = acceptance.invalid(error)
    else:
        selected = await kube.count_pods(
            namespace=check.namespace, label_selector=check.spec.selector.as_query()
        )
        verdict = acceptance.judge(
            check=check, operator_namespace=SETTINGS.namespace, selected_pods=selected
        )
    wanted = acceptance.status_patch(
        acceptance=verdict,
        status=status,
        generation=generation,
        selected_pods=selected,
        now=datetime.datetime.now(datetime.UTC),
    )
    changes = acceptance.changed_fields(current=status, wanted=wanted)
    if changes:
        logger.info("%s: %s", verdict.reason, verdict.message)
        if not verdict.ready:
            kopf.warn(body, reason=verdict.reason, message=verdict.message)
        patch.status.update(changes)
