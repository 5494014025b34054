import pytest

from nethealth import settings


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
