import pytest

from nethealth import settings
from nethealth.devcluster import images


def test_defaults_apply_when_the_environment_is_empty():
    result = settings.from_env({})
    assert result.namespace == settings.DEFAULT_NAMESPACE
    assert result.max_concurrent_jobs == 20
    assert result.field_manager == "nethealth-operator"


@pytest.mark.parametrize("raw", ["zero", "0", "-3", "1.5"])
def test_a_bad_job_limit_names_the_variable_and_what_is_allowed(raw):
    expected = r"NETHEALTH_MAX_CONCURRENT_JOBS.*integer >= 1"
    with pytest.raises(settings.SettingsError, match=expected):
        settings.from_env({"NETHEALTH_MAX_CONCURRENT_JOBS": raw})


def test_the_metrics_port_defaults_to_8080_and_0_turns_it_off():
    assert settings.from_env({}).metrics_port == 8080
    assert settings.from_env({"NETHEALTH_METRICS_PORT": "0"}).metrics_port == 0


@pytest.mark.parametrize("raw", ["http", "-1", "70000"])
def test_a_bad_metrics_port_names_the_variable(raw):
    with pytest.raises(settings.SettingsError, match="NETHEALTH_METRICS_PORT"):
        settings.from_env({"NETHEALTH_METRICS_PORT": raw})


def test_the_default_probe_image_is_the_one_the_project_builds():
    assert settings.from_env({}).probe_image == images.NETHEALTH_IMAGE


def test_allowed_probe_images_are_a_comma_separated_list() -> None:
    chosen = settings.from_env(
        {"NETHEALTH_ALLOWED_PROBE_IMAGES": " a.example/p:1, ,b.example/p:2 "}
    )
    assert chosen.allowed_probe_images == frozenset({"a.example/p:1", "b.example/p:2"})
    assert settings.from_env({}).allowed_probe_images == frozenset()
