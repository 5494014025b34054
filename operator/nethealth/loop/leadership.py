"""Holding the operator's Lease: the loop that makes one replica the leader.

``lead`` runs for the life of the process: it reads the Lease, lets ``election.decide``
choose, writes, and calls ``on_elected``/``on_deposed`` when leadership changes. A
leader that cannot renew (API unreachable) steps down before its Lease can expire, so
two leaders never overlap by more than the API's own latency.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from nethealth import kube
from nethealth.loop import clock, election
from nethealth.model import raw

logger = logging.getLogger(__name__)


async def lead(
    *,
    api: kube.Api,
    clock: clock.Clock,
    namespace: str,
    identity: str,
    on_elected: Callable[[], None],
    on_deposed: Callable[[], None],
    name: str = election.LEASE_NAME,
) -> None:
    leading = False
    last_renewal: datetime.datetime | None = None
    while True:
        now = clock.now()
        try:
            lease = await api.read_lease(namespace=namespace, name=name)
            current = election.holder(lease)
            action = election.decide(current=current, identity=identity, now=now)
            won = False
            if action is not election.Action.FOLLOW:
                version = raw.meta(lease).get("resourceVersion")
                won = await api.write_lease(
                    namespace=namespace,
                    name=name,
                    spec=election.spec(identity=identity, now=now, current=current, action=action),
                    resource_version=version,
                )
            if won:
                last_renewal = now
            still = won
        except kube.KubeError as error:
            logger.warning("lease %s/%s: %s", namespace, name, error)
            # Keep leading only while the Lease we wrote is surely still ours.
            margin = datetime.timedelta(seconds=election.DURATION - 2 * election.RENEW)
            still = leading and last_renewal is not None and now - last_renewal < margin
        if still and not leading:
            logger.info("elected leader (%s)", identity)
            on_elected()
        elif leading and not still:
            logger.info("no longer the leader (%s)", identity)
            on_deposed()
        leading = still
        await clock.sleep(election.RENEW)
