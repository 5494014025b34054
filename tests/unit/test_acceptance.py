import dataclasses
import datetime

import pytest

from nethealth import model
from nethealth.detection import acceptance

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _check(*, namespace="apps", namespace_selector=None):
    spec = {
        "selector": {"matchLabels": {"app": "homeassistant"}},
        "targets": [{"name": "gw", "host": "198.51.100.7", "port": 80}],
    }
    if namespace_selector is not None:
        spec["namespaceSelector"] = namespace_selector
    return model.parse(
        {
            "apiVersion": "nethealth.io/v1alpha1",
            "kind": "NetHealthCheck",
            "metadata": {"name": "ha", "namespace": namespace, "generation": 3},
            "spec": spec,
        }
    )


def test_a_namespace_selector_outside_the_operator_namespace_is_refused_by_name():
    verdict = acceptance.judge(
        check=_check(namespace="apps", namespace_selector={"matchLabels": {"x": "y"}}),
        operator_namespace="nethealth-system",
        selected_pods=3,
    )
    assert not verdict.ready
    assert verdict.reason == model.Reason.NAMESPACE_SELECTOR_NOT_ALLOWED
    assert "spec.namespaceSelector" in verdict.message
    assert "nethealth-system" in verdict.message


def test_a_namespace_selector_in_the_operator_namespace_is_accepted():
    verdict = acceptance.judge(
        check=_check(namespace="nethealth-system", namespace_selector={"matchLabels": {"x": "y"}}),
        operator_namespace="nethealth-system",
        selected_pods=3,
    )
    assert verdict.ready
    assert verdict.reason == model.Reason.RUNNING


def test_no_selected_pods_is_not_ready_and_names_the_selector():
    verdict = acceptance.judge(
        check=_check(), operator_namespace="nethealth-system", selected_pods=0
    )
    assert not verdict.ready
    assert verdict.reason == model.Reason.NO_PODS_SELECTED
    assert "app=homeassistant" in verdict.message


def test_no_pods_in_the_selected_namespaces_names_both_selectors():
    verdict = acceptance.judge(
        check=_check(namespace="nethealth-system", namespace_selector={"matchLabels": {"x": "y"}}),
        operator_namespace="nethealth-system",
        selected_pods=0,
    )
    assert verdict.reason == model.Reason.NO_PODS_SELECTED
    assert "spec.selector 'app=homeassistant'" in verdict.message
    assert "spec.namespaceSelector 'x=y'" in verdict.message


def test_an_invalid_spec_makes_ready_false_with_the_field_in_the_message():
    with pytest.raises(model.SpecError) as info:
        model.parse_spec({"selector": {"matchLabels": {"a": "b"}}, "targets": []})
    verdict = acceptance.invalid(info.value)
    assert not verdict.ready
    assert verdict.reason == model.Reason.INVALID_SPEC
    assert "spec.targets" in verdict.message


def test_a_probe_image_the_operator_was_not_told_to_trust_is_refused_naming_the_field() -> None:
    check = _check_with_image("evil.example/probe:1")
    refused = acceptance.refuse_image(check=check, allowed=frozenset({"ours:1"}))
    assert refused is not None
    assert not refused.ready
    assert refused.reason is model.Reason.PROBE_IMAGE_NOT_ALLOWED
    assert "spec.probe.image 'evil.example/probe:1'" in refused.message
    assert "NETHEALTH_ALLOWED_PROBE_IMAGES" in refused.message


def test_the_default_and_listed_probe_images_are_accepted() -> None:
    allowed = frozenset({"ours:1", "mirror.example/nethealth:1"})
    assert acceptance.refuse_image(check=_check_with_image(None), allowed=allowed) is None
    listed = _check_with_image("mirror.example/nethealth:1")
    assert acceptance.refuse_image(check=listed, allowed=allowed) is None


DIGEST = "sha256:" + "ab" * 32


def test_an_image_allowed_by_digest_admits_that_digest_only() -> None:
    allowed = frozenset({f"registry.example/nethealth@{DIGEST}"})
    for same in (f"mirror.example/nethealth:1@{DIGEST}", f"registry.example/nethealth@{DIGEST}"):
        assert acceptance.refuse_image(check=_check_with_image(same), allowed=allowed) is None
    other = _check_with_image("registry.example/nethealth@sha256:" + "cd" * 32)
    assert acceptance.refuse_image(check=other, allowed=allowed) is not None
    # A tag names no content: the same repository by tag is not the pinned image.
    by_tag = _check_with_image("registry.example/nethealth:1")
    assert acceptance.refuse_image(check=by_tag, allowed=allowed) is not None


def _check_with_image(image: str | None) -> model.NetHealthCheck:
    check = _check()
    probe = dataclasses.replace(check.spec.probe, image=image)
    return dataclasses.replace(check, spec=dataclasses.replace(check.spec, probe=probe))
