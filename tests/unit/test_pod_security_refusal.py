"""A namespace whose Pod Security level refuses the probe pod: a clear Ready=False with the
way out, one Warning Event, and runs that back off instead of being refused every interval."""

from __future__ import annotations

import asyncio
import datetime

from loop_world import FAST, world

from nethealth import model
from nethealth.detection import podsecurity, results

REFUSED = (
    'no probe pod was created: Error creating: pods "nhp-web-1-x" is forbidden: violates'
    ' PodSecurity "restricted:latest": host namespaces (hostPID=true)'
)


def test_a_pod_security_refusal_names_the_namespace_level_and_way_out() -> None:
    outcomes = {
        "apps/web": results.inconclusive(
            key="apps/web", why=results.Why.NOT_CREATED, reason=REFUSED
        )
    }
    verdict = podsecurity.refusal(outcomes)
    assert verdict is not None
    assert (verdict.ready, verdict.reason) == (False, model.Reason.PROBE_REFUSED_BY_POD_SECURITY)
    assert verdict.message.startswith("namespace 'apps' enforces Pod Security 'restricted'")
    assert "pod-security.kubernetes.io/enforce=privileged" in verdict.message
    assert "exemptions.namespaces" in verdict.message


def test_other_reasons_for_a_missing_pod_are_not_blamed_on_pod_security() -> None:
    quota = results.inconclusive(
        key="apps/web", why=results.Why.NOT_CREATED, reason="no probe pod was created: quota"
    )
    assert podsecurity.refusal({"apps/web": quota}) is None


def test_refused_runs_back_off_doubling_up_to_half_an_hour() -> None:
    minute = datetime.timedelta(minutes=1)
    delays = [podsecurity.delay(interval=minute, refusals=n) for n in range(8)]
    assert delays[:4] == [minute, 2 * minute, 4 * minute, 8 * minute]
    assert delays[-1] == podsecurity.MAX_DELAY
    hour = datetime.timedelta(hours=1)
    assert podsecurity.delay(interval=hour, refusals=3) == hour  # never below the interval


def test_a_refused_namespace_makes_the_check_not_ready_once_and_backs_off() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        w.cluster.pod_security["apps"] = "restricted"
        loop = w.loop()
        await w.run(loop)
        [ready] = [c for c in w.status()["conditions"] if c["type"] == "Ready"]
        assert (ready["status"], ready["reason"]) == ("False", "ProbeRefusedByPodSecurity")
        assert {p["state"] for p in w.status()["pods"]} == {"Inconclusive"}
        await w.run(loop)
        warnings = w.cluster.events_with("ProbeRefusedByPodSecurity")
        assert len(warnings) == 1  # posted when Ready turned False, not every run
        check = model.parse(w.cluster.checks[w.check])
        started = loop.memory.last_start
        assert started is not None
        due = loop._due(check, last_start=started)
        assert due - started >= 4 * check.spec.probe.interval  # two refusals: doubled twice
        del w.cluster.pod_security["apps"]
        await w.run(loop)
        [ready] = [c for c in w.status()["conditions"] if c["type"] == "Ready"]
        assert ready["status"] == "True"
        assert loop.memory.refusals == 0

    asyncio.run(scenario())
