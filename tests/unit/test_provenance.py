"""A probe result is believed only from a pod its Job made: a forged pod is ignored."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from operator_builders import check, node, pod

from nethealth.detection import jobs, provenance, results, selection

OWNER = jobs.Owner(name="web", namespace="apps", uid="check-uid")
RUN = jobs.run_id(datetime.datetime(2026, 1, 1, 12, 0, 5, tzinfo=datetime.UTC))


def _job() -> dict[str, Any]:
    chosen = selection.select(pods=[pod("a")], nodes=[node("node-a")])
    (manifest,) = jobs.plan(
        owner=OWNER, spec=check().spec, selected=chosen, run=RUN, image="example/nethealth:1"
    )
    manifest["metadata"]["uid"] = "job-uid"
    return manifest


def _made_by(job: dict[str, Any], *, uid: str = "job-uid", name: str = "p1") -> dict[str, Any]:
    """A pod as the Job controller makes it from the Job's template."""
    template = job["spec"]["template"]
    return {
        "metadata": {
            "name": name,
            "namespace": job["metadata"]["namespace"],
            "labels": {
                **template["metadata"]["labels"],
                results.JOB_NAME_LABEL: job["metadata"]["name"],
            },
            "ownerReferences": [
                {"kind": "Job", "name": job["metadata"]["name"], "uid": uid, "controller": True}
            ],
        },
        "spec": copy.deepcopy(template["spec"]),
    }


def test_the_pod_the_job_made_is_believed() -> None:
    job = _job()
    genuine, refused = provenance.sort(jobs=[job], pods_by_job={raw_key(job): [_made_by(job)]})
    assert [p["metadata"]["name"] for p in genuine[raw_key(job)]] == ["p1"]
    assert refused == []


def test_a_pod_with_forged_labels_but_no_owner_is_ignored() -> None:
    job = _job()
    forged = _made_by(job, name="forged")
    del forged["metadata"]["ownerReferences"]
    genuine, refused = provenance.sort(jobs=[job], pods_by_job={raw_key(job): [forged]})
    assert genuine == {}
    assert refused == [
        provenance.Refused(
            pod="apps/forged",
            why=f"its controller is not Job {job['metadata']['name']} (uid job-uid)",
        )
    ]


def test_a_pod_of_another_job_with_the_same_name_is_ignored() -> None:
    job = _job()
    impostor = _made_by(job, uid="another-job-uid", name="impostor")
    genuine, refused = provenance.sort(jobs=[job], pods_by_job={raw_key(job): [impostor]})
    assert genuine == {}
    assert [r.pod for r in refused] == ["apps/impostor"]


def test_a_pod_owned_by_the_job_but_running_something_else_is_ignored() -> None:
    job = _job()
    for field, value in (("image", "evil/image:1"), ("args", ["probe"]), ("command", ["sh"])):
        changed = _made_by(job, name="changed")
        changed["spec"]["containers"][0][field] = value
        genuine, refused = provenance.sort(jobs=[job], pods_by_job={raw_key(job): [changed]})
        assert genuine == {}, field
        assert "not the Job template's" in refused[0].why


def raw_key(job: dict[str, Any]) -> str:
    return f"{job['metadata']['namespace']}/{job['metadata']['name']}"
