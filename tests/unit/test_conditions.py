import datetime

from nethealth.detection import conditionlist

T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=5)


def _set(existing, *, status="True", reason="Running", now=T0, generation=1):
    return conditionlist.set_condition(
        existing,
        type="Ready",
        status=status,
        reason=reason,
        message="m",
        generation=generation,
        now=now,
    )


def test_a_new_condition_is_appended_with_the_current_time():
    result = _set([{"type": "Degraded", "status": "False"}])
    assert [c["type"] for c in result] == ["Degraded", "Ready"]
    assert result[1]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert result[1]["observedGeneration"] == 1


def test_an_unchanged_status_keeps_its_transition_time_but_takes_the_new_reason():
    first = _set([], reason="NoPodsSelected", now=T0)
    second = _set(first, reason="Running", now=T1, generation=2)
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert second[0]["reason"] == "Running"
    assert second[0]["observedGeneration"] == 2


def test_a_flipped_status_moves_the_transition_time():
    first = _set([], status="True", now=T0)
    second = _set(first, status="False", reason="InvalidSpec", now=T1)
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:05:00Z"


def test_other_conditions_keep_their_order_and_content():
    existing = [
        {"type": "A", "status": "True"},
        {"type": "Ready", "status": "False", "lastTransitionTime": "x"},
        {"type": "B", "status": "False"},
    ]
    result = _set(existing)
    assert [c["type"] for c in result] == ["A", "Ready", "B"]
    assert result[0] == existing[0]
    assert result[2] == existing[2]
