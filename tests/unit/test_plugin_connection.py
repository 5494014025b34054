"""Which cluster and namespace the plugin uses: as kubectl, from the kubeconfig file and
context (these tests only read files; nothing is contacted)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from nethealth.kube import blocking, errors


@pytest.fixture
def kubeconfig(tmp_path):
    def context(name: str, namespace: str | None) -> dict:
        ctx = {"cluster": "dev", "user": "admin"}
        if namespace:
            ctx["namespace"] = namespace
        return {"name": name, "context": ctx}

    path = tmp_path / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "dev", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "admin", "user": {"token": "not-a-secret"}}],
                "contexts": [context("apps", "apps"), context("bare", None)],
                "current-context": "apps",
            }
        )
    )
    return path


def test_the_current_contexts_namespace_is_the_default(kubeconfig):
    conn = blocking.connect(kubeconfig=str(kubeconfig), context=None)
    assert conn.namespace == "apps"
    assert conn.client.configuration.host == "https://127.0.0.1:6443"


def test_a_context_without_a_namespace_means_default(kubeconfig):
    assert blocking.connect(kubeconfig=str(kubeconfig), context="bare").namespace == "default"


def test_kubeconfig_from_the_environment_is_used_like_kubectl(kubeconfig):
    # The client reads $KUBECONFIG when it is imported: a fresh process, as a user runs it.
    code = (
        "from nethealth.kube import blocking;"
        " print(blocking.connect(kubeconfig=None, context=None).namespace)"
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "apps"


def test_an_unknown_context_is_an_error_naming_the_file(kubeconfig):
    with pytest.raises(errors.KubeError) as info:
        blocking.connect(kubeconfig=str(kubeconfig), context="nope")
    assert str(kubeconfig) in str(info.value)
    assert "nope" in str(info.value)


def test_a_missing_kubeconfig_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(errors.KubeError, match=str(missing)):
        blocking.connect(kubeconfig=str(missing), context=None)
