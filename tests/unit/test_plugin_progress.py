"""What a person sees while ``diagnose`` waits: each step once, and no waiting for a
container that cannot start."""

from __future__ import annotations

import pytest
from plugin_builders import document, job, pod, terminated

from nethealth.plugin import progress


def step(job_obj, *pods):
    return progress.observe(job=job_obj, pods=list(pods), window=6.0)


def test_a_job_without_its_pod_waits_for_it():
    seen = step(job())
    assert seen.step is progress.Step.CREATED
    assert "waiting for its pod" in seen.text


def test_a_pod_bound_to_the_node_is_scheduled():
    seen = step(job(), pod({"waiting": {"reason": "ContainerCreating"}}))
    assert seen.step is progress.Step.SCHEDULED
    assert "scheduled on node node-a" in seen.text


def test_an_unscheduled_pod_is_still_only_created():
    assert step(job(), pod(node=None)).step is progress.Step.CREATED


def test_a_running_probe_says_how_long_it_measures():
    seen = step(job(), pod({"running": {"startedAt": "2026-02-15T12:00:01Z"}}))
    assert seen.step is progress.Step.RUNNING
    assert "about 6 s" in seen.text


def test_a_finished_probe_is_done_with_its_exit_code():
    seen = step(job(), pod(terminated(document(), exit_code=1), phase="Failed"))
    assert seen.step is progress.Step.DONE
    assert "exit code 1" in seen.text


def test_a_job_past_its_deadline_is_done():
    seen = step(job(condition="Failed", reason="DeadlineExceeded"))
    assert seen.step is progress.Step.DONE
    assert "DeadlineExceeded" in seen.text


@pytest.mark.parametrize("reason", sorted(progress.STUCK_REASONS))
def test_a_container_that_cannot_start_ends_the_wait_at_once(reason):
    waiting = {"waiting": {"reason": reason, "message": "image not present"}}
    seen = step(job(), pod(waiting, phase="Pending"))
    assert seen.step is progress.Step.DONE
    assert reason in seen.text
    assert "image not present" in seen.text


def test_an_image_being_pulled_is_waited_for():
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    assert step(job(), pod(waiting, phase="Pending")).step is progress.Step.SCHEDULED


def test_a_probe_that_ended_is_done_before_its_pod_phase_says_so():
    seen = step(job(), pod(terminated(document(), exit_code=0), phase="Running"))
    assert seen.step is progress.Step.DONE
    assert seen.text == "probe finished (exit code 0)"
