"""Posting Events: a ``model.Notice`` becomes an Event on the check and on its pods.

Every Event the operator posts goes through here, whoever decided it (detection's
``notices``, remediation's ``ledger.record``, a check that is not Ready): on the check, so
``kubectl describe nethc`` tells the story, and on each named pod still measured, so
``kubectl describe pod`` does too. Events are best effort: a failed post is logged, never
a reason to stop a run. A remediation action's Event is also counted in the metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from nethealth import kube, metrics, model
from nethealth.detection import reporting
from nethealth.model import events, raw

logger = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        *,
        api: kube.Api,
        body: Callable[[], raw.Check],
        observer: metrics.Observer | None,
    ) -> None:
        self._api = api
        self._body = body  # the check's latest body (its uid survives edits)
        self._observer = observer

    async def post(
        self, notice: model.Notice, *, views: Mapping[str, reporting.PodView] | None = None
    ) -> None:
        body = self._body()
        check = raw.key(body)
        if self._observer is not None and notice.reason in events.ACTIONS:
            self._observer.remediation_action(check=check, action=str(notice.reason))
        involved = {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "namespace": raw.namespace(body),
            "name": raw.name(body),
            "uid": raw.uid(body),
        }
        await self._post(involved=involved, notice=notice, message=notice.message)
        for key in notice.pods:
            view = (views or {}).get(key)
            if view is None:
                continue
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": view.ref.namespace,
                "name": view.ref.name,
                "uid": view.ref.uid,
            }
            message = f"{notice.message} (NetHealthCheck {raw.name(body)})"
            await self._post(involved=pod, notice=notice, message=message)

    async def _post(
        self, *, involved: Mapping[str, str], notice: model.Notice, message: str
    ) -> None:
        try:
            await self._api.post_event(
                involved=involved, type=str(notice.type), reason=str(notice.reason), message=message
            )
        except kube.KubeError as error:
            logger.warning("cannot post Event %s: %s", notice.reason, error)
