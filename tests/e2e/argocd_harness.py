"""A real Argo CD for e2e tests: its application controller and repo server (the
``argocd`` binary that ``nethealth.devcluster.argocdbuild`` builds from the Go module
proxy), Debian's ``redis-server`` and ``git daemon`` serving a bare repository, all as
host processes against the dev cluster.

The controller reaches the cluster through the test kubeconfig: ``--kubeconfig`` for its
own API calls, and ``ARGOCD_FAKE_IN_CLUSTER=true`` with ``KUBECONFIG`` for the in-cluster
destination ``https://kubernetes.default.svc`` (Argo CD's own escape hatch for running
outside a pod). Its settings live where a real install keeps them: the ``argocd``
namespace with ``argocd-cm`` (``examples/argocd/argocd-cm.yaml`` as the docs tell users
to merge it, and a short reconciliation), ``argocd-rbac-cm``, ``argocd-secret`` and the
``default`` AppProject; the Application and AppProject CRDs come from the argo-cd module
in the Go module cache.

One Argo CD serves every test of a session, also across pytest-xdist workers: the first
worker that needs it starts it under a file lock and records it in a state directory, the
others join, and the last one to leave tears it all down (processes, the ``argocd``
namespace, the temporary directories), also after a failure. Each test pushes its own
directory to the shared repository (``Repo.push``, serialised by the same lock) and syncs
it with an Application of its own into its own namespace.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml
from kubernetes import client, config

from nethealth.devcluster import argocdbuild, helmtool

NAMESPACE = "argocd"
GROUP = "argoproj.io"
VERSION = "v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "argocd"
# What docs/argocd.md tells users to merge into argocd-cm (the health check of
# argocd/health.lua, and ``resource.compareoptions``), installed verbatim.
CONFIGMAP_EXAMPLE = EXAMPLES / "argocd-cm.yaml"
# The check's Application of the docs: its ignoreDifferences are what the tests use.
CHECK_APPLICATION_EXAMPLE = EXAMPLES / "check-application.yaml"
# Deleting an Application deletes what it synced (ClusterRoles of a chart included).
CASCADE_FINALIZER = "resources-finalizer.argocd.argoproj.io"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
# Short, so that a pushed commit and a drift are seen within seconds (a real install
# reconciles every 180 s); the tests still refresh by annotation after each push.
APP_RESYNC_SECONDS = 10
# The controller's and repo server's log level; ``debug`` shows, e.g., an ignoreDifferences
# rule Argo CD could not apply ("error building typed results").
LOG_LEVEL = os.environ.get("NETHEALTH_ARGOCD_LOGLEVEL", "info")
# Where to keep Argo CD's logs after the session (they go with its temporary directory).
KEEP_LOGS = os.environ.get("NETHEALTH_ARGOCD_LOGS")
# How long a refresh may take before it is asked for again (see ``ArgoCD.wait_synced``).
REFRESH_AGAIN_SECONDS = 15.0
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0

# The processes this worker started, kept so that they are reaped (whichever worker stops
# them) and not reported as leaked while they serve the other workers.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _module_dir(module: str, version: str) -> pathlib.Path:
    """The module's directory in the Go module cache (``go mod download`` fills it)."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        env={**os.environ, "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return pathlib.Path(json.loads(result.stdout)["Dir"])


def crds(version: str) -> list[dict[str, Any]]:
    """The Application and AppProject CRDs of the Argo CD version the binary is built from."""
    root = _module_dir(argocdbuild.MODULE, version) / "manifests" / "crds"
    return [
        yaml.safe_load((root / name).read_text())
        for name in ("application-crd.yaml", "appproject-crd.yaml")
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Repo:
    """The bare repository ``git daemon`` serves, and a work tree to commit into."""

    url: str
    work: pathlib.Path
    lock: pathlib.Path

    def push(
        self,
        directory: str,
        files: Mapping[str, Any],
        *,
        message: str,
        tree: pathlib.Path | None = None,
    ) -> str:
        """Replaces ``directory`` of the repository with a copy of ``tree`` (if given) and
        ``files`` (name to manifest, or to a list of manifests), commits and pushes; the
        commit's hash."""
        with _locked(self.lock):
            target = self.work / directory
            shutil.rmtree(target, ignore_errors=True)
            if tree is not None:
                shutil.copytree(tree, target)
            target.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                docs = content if isinstance(content, list) else [content]
                (target / name).write_text(yaml.safe_dump_all(docs), encoding="utf-8")
            _git(self.work, "add", "-A", directory)
            _git(self.work, "commit", "-q", "--allow-empty", "-m", message)
            _git(self.work, "push", "-q", "origin", "HEAD:main")
            return _git(self.work, "rev-parse", "HEAD").strip()

    def includes(self, revision: str, commit: str) -> bool:
        """Whether ``revision`` is ``commit`` or a later commit of ``main``. The tests share
        the repository: an Application compares ``main``'s newest commit, which may be
        another test's, pushed after this one's (the history is linear)."""
        with _locked(self.lock):
            result = subprocess.run(
                ["git", "merge-base", "--is-ancestor", commit, revision],
                cwd=self.work,
                capture_output=True,
                check=False,
                timeout=60,
            )
        return result.returncode == 0


def _git(cwd: pathlib.Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "nethealth e2e",
        "GIT_AUTHOR_EMAIL": "e2e@nethealth.invalid",
        "GIT_COMMITTER_NAME": "nethealth e2e",
        "GIT_COMMITTER_EMAIL": "e2e@nethealth.invalid",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArgoCD:
    """The shared Argo CD: its repository and the Applications API."""

    api_client: client.ApiClient
    repo: Repo
    version: str
    logs: pathlib.Path

    @property
    def _custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    def application(
        self,
        name: str,
        *,
        path: str,
        namespace: str,
        sync_policy: Mapping[str, Any] | None = None,
        ignore_differences: list[dict[str, Any]] | None = None,
        helm: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Creates an Application syncing ``path`` of the repository into ``namespace``;
        deleting it deletes what it synced."""
        source: dict[str, Any] = {"repoURL": self.repo.url, "targetRevision": "main", "path": path}
        if helm is not None:
            source["helm"] = dict(helm)
        spec: dict[str, Any] = {
            "project": "default",
            "source": source,
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "syncPolicy": dict(sync_policy or {}),
        }
        if ignore_differences:
            spec["ignoreDifferences"] = ignore_differences
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Application",
            "metadata": {"name": name, "namespace": NAMESPACE, "finalizers": [CASCADE_FINALIZER]},
            "spec": spec,
        }
        created: dict[str, Any] = self._custom.create_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "applications", body
        )
        return created

    def read(self, name: str) -> dict[str, Any]:
        got: dict[str, Any] = self._custom.get_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "applications", name
        )
        return got

    def patch(self, name: str, patch: Mapping[str, Any]) -> None:
        self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            NAMESPACE,
            "applications",
            name,
            dict(patch),
            _content_type="application/merge-patch+json",
        )

    def refresh(self, name: str) -> None:
        """Asks for a hard refresh (Git read again, the app compared again) now."""
        self.patch(name, {"metadata": {"annotations": {REFRESH_ANNOTATION: "hard"}}})

    def wait_synced(self, name: str, commit: str, *, timeout: float) -> dict[str, Any]:
        """Waits until the Application has synced ``commit`` (just pushed), or a later
        commit of ``main`` (``Repo.includes``), and is Synced. Asks for a hard refresh, and
        again whenever the controller has taken the request (the annotation is gone) but the
        Application still compares an older commit after ``REFRESH_AGAIN_SECONDS``, so that
        a request lost to a refresh already under way is made again rather than waited
        out."""
        self.refresh(name)
        asked = time.monotonic()

        def synced(app: dict[str, Any]) -> bool:
            nonlocal asked
            compared = revision(app)
            if compared is not None and self.repo.includes(compared, commit):
                return sync_status(app) == "Synced"
            pending = REFRESH_ANNOTATION in (app["metadata"].get("annotations") or {})
            if not pending and time.monotonic() - asked > REFRESH_AGAIN_SECONDS:
                self.refresh(name)
                asked = time.monotonic()
            return False

        return self.wait(name, until=synced, timeout=timeout, what=f"commit {commit[:8]} synced")

    def wait(
        self,
        name: str,
        *,
        until: Callable[[dict[str, Any]], bool],
        timeout: float,
        what: str,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        app: dict[str, Any] = {}
        while time.monotonic() < deadline:
            app = self.read(name)
            if until(app):
                return app
            time.sleep(1)
        raise AssertionError(
            f"Application {name}: {what} not within {timeout:.0f} s; status:\n"
            f"{json.dumps(summary(app), indent=1)}\n{self.log_tail()}"
        )

    def delete(self, name: str, *, timeout: float = 120.0) -> bool:
        """Deletes the Application; whether Argo CD deleted what it synced, and so the
        Application, within ``timeout``."""
        with contextlib.suppress(client.ApiException):
            self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, NAMESPACE, "applications", name
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.read(name)
            except client.ApiException as exc:
                if exc.status == 404:
                    return True
                raise
            time.sleep(1)
        return False

    def abandon(self, name: str) -> None:
        """Lets go of an Application Argo CD could not delete, so its namespace can go."""
        with contextlib.suppress(client.ApiException):
            self.patch(name, {"metadata": {"finalizers": None}})

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Apps:
    """One test's Applications, each syncing a directory of its own into the test's
    namespace; deleted after the test (``conftest.argocd_apps``)."""

    argocd: ArgoCD
    namespace: str
    created: list[str] = dataclasses.field(default_factory=list)

    def name(self, suffix: str) -> str:
        return f"{self.namespace}-{suffix}"

    def push(
        self,
        suffix: str,
        files: Mapping[str, Any],
        *,
        message: str,
        tree: pathlib.Path | None = None,
    ) -> str:
        return self.argocd.repo.push(
            f"{self.namespace}/{suffix}", files, message=f"{self.namespace}: {message}", tree=tree
        )

    def create(self, suffix: str, **options: Any) -> str:
        """An Application of directory ``suffix``; its name (``name(suffix)``)."""
        name = self.name(suffix)
        self.argocd.application(
            name, path=f"{self.namespace}/{suffix}", namespace=self.namespace, **options
        )
        self.created.append(name)
        return name

    def cleanup(self, *, release: Callable[[], None]) -> None:
        """Deletes the Applications (and so what they synced); ``release`` lets go of
        what only a stopped operator would have released (a check's finalizer)."""
        stuck = []
        for name in self.created:
            if self.argocd.delete(name, timeout=45.0):
                continue
            release()
            if not self.argocd.delete(name, timeout=45.0):
                self.argocd.abandon(name)
                stuck.append(name)
        if stuck:
            raise AssertionError(f"Argo CD did not delete {stuck}:\n{self.argocd.log_tail()}")


def documented_ignore_differences(kind: str) -> dict[str, Any]:
    """The ``ignoreDifferences`` entry for ``kind`` of the docs' check Application."""
    app = yaml.safe_load(CHECK_APPLICATION_EXAMPLE.read_text())
    [entry] = [e for e in app["spec"]["ignoreDifferences"] if e["kind"] == kind]
    return dict(entry)


def sync_status(app: Mapping[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("sync") or {}).get("status")  # type: ignore[no-any-return]


def revision(app: Mapping[str, Any]) -> str | None:
    """The commit the Application last compared with."""
    return ((app.get("status") or {}).get("sync") or {}).get("revision")  # type: ignore[no-any-return]


def health_status(app: Mapping[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("health") or {}).get("status")  # type: ignore[no-any-return]


def resource_health(app: Mapping[str, Any], *, kind: str, name: str) -> dict[str, Any]:
    """The health Argo CD gives one of the Application's resources (status and message)."""
    for resource in (app.get("status") or {}).get("resources") or []:
        if resource.get("kind") == kind and resource.get("name") == name:
            return dict(resource.get("health") or {})
    return {}


def summary(app: Mapping[str, Any]) -> dict[str, Any]:
    status = app.get("status") or {}
    return {
        "sync": status.get("sync"),
        "health": status.get("health"),
        "conditions": status.get("conditions"),
        "operationState": {
            k: v
            for k, v in (status.get("operationState") or {}).items()
            if k in ("phase", "message", "finishedAt")
        },
        "resources": status.get("resources"),
    }


# --- starting and stopping the shared instance ------------------------------------------


@contextlib.contextmanager
def _locked(path: pathlib.Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running(pid: int) -> bool:
    return _alive(pid) and not _zombie(pid)


def _state_dir(kubeconfig: pathlib.Path) -> pathlib.Path:
    digest = hashlib.sha256(str(kubeconfig.resolve()).encode()).hexdigest()[:12]
    return pathlib.Path(tempfile.gettempdir()) / f"nethealth-argocd-{digest}"


@contextlib.contextmanager
def shared(*, kubeconfig: pathlib.Path) -> Iterator[ArgoCD]:
    """The session's Argo CD, started by the first user and stopped by the last."""
    state_dir = _state_dir(kubeconfig)
    lock = state_dir / "lock"
    state_file = state_dir / "state.json"
    users_file = state_dir / "users.json"
    api_client = config.new_client_from_config(str(kubeconfig))
    try:
        with _locked(lock):
            users = [p for p in _read_json(users_file, []) if _alive(p)]
            state = _read_json(state_file, None)
            if state is not None and not all(_running(p) for p in state["pids"]):
                # Left by a session that died, or a process of it died: start afresh.
                _teardown(api_client, state)
                state = None
            if state is None:
                state = _start(kubeconfig=kubeconfig, api_client=api_client, state_dir=state_dir)
                state_file.write_text(json.dumps(state))
            users.append(os.getpid())
            users_file.write_text(json.dumps(users))
        yield ArgoCD(
            api_client=api_client,
            repo=Repo(url=state["repo_url"], work=pathlib.Path(state["work"]), lock=lock),
            version=state["version"],
            logs=pathlib.Path(state["logs"]),
        )
    finally:
        with _locked(lock):
            users = [p for p in _read_json(users_file, []) if _alive(p)]
            with contextlib.suppress(ValueError):
                users.remove(os.getpid())
            users_file.write_text(json.dumps(users))
            state = _read_json(state_file, None)
            if not users and state is not None:
                try:
                    _teardown(api_client, state)
                finally:
                    state_file.unlink(missing_ok=True)
        api_client.close()
        for pid, proc in list(_STARTED.items()):
            if proc.poll() is not None:
                del _STARTED[pid]


def _read_json(path: pathlib.Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def _start(
    *, kubeconfig: pathlib.Path, api_client: client.ApiClient, state_dir: pathlib.Path
) -> dict[str, Any]:
    built = argocdbuild.ensure_argocd()
    helm = helmtool.ensure_helm().path
    work_root = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=state_dir))
    logs = work_root / "logs"
    logs.mkdir()
    state: dict[str, Any] = {
        "pids": [],
        "root": str(work_root),
        "logs": str(logs),
        "version": built.version,
    }
    try:
        _wait_namespace_gone(api_client)
        _install_crds(api_client, crds(built.version))
        _settings(api_client)
        state.update(_git_daemon(work_root, logs, state))
        redis_port = _free_port()
        _spawn(
            state,
            logs / "redis.log",
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(work_root),
            ],
        )
        _wait_port(redis_port, state, what="redis")
        redis = f"127.0.0.1:{redis_port}"
        env = _argocd_env(kubeconfig=kubeconfig, work_root=work_root, helm=helm)
        repo_port = _free_port()
        _spawn(
            state,
            logs / "repo-server.log",
            [
                str(built.command(argocdbuild.REPO_SERVER)),
                "--address",
                "127.0.0.1",
                "--port",
                str(repo_port),
                "--metrics-address",
                "127.0.0.1",
                "--metrics-port",
                str(_free_port()),
                "--disable-tls",
                "--redis",
                redis,
                "--loglevel",
                LOG_LEVEL,
            ],
            env=env,
        )
        _wait_port(repo_port, state, what="the repo server")
        _spawn(
            state,
            logs / "application-controller.log",
            [
                str(built.command(argocdbuild.APPLICATION_CONTROLLER)),
                "--kubeconfig",
                str(kubeconfig),
                "--namespace",
                NAMESPACE,
                "--repo-server",
                f"127.0.0.1:{repo_port}",
                "--repo-server-plaintext",
                "--redis",
                redis,
                "--metrics-port",
                str(_free_port()),
                "--app-resync",
                str(APP_RESYNC_SECONDS),
                "--status-processors",
                "4",
                "--operation-processors",
                "4",
                "--loglevel",
                LOG_LEVEL,
            ],
            env=env,
        )
    except BaseException:
        _teardown(api_client, state)
        raise
    return state


def _argocd_env(
    *, kubeconfig: pathlib.Path, work_root: pathlib.Path, helm: pathlib.Path
) -> dict[str, str]:
    """Everything Argo CD would find at fixed paths in its image, under ``work_root``."""
    home = work_root / "home"
    tmp = work_root / "tmp"
    for directory in (home, tmp, home / "tls", home / "ssh"):
        directory.mkdir(parents=True, exist_ok=True)
    (home / "ssh" / "ssh_known_hosts").touch()
    return {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "KUBECONFIG": str(kubeconfig),
        "ARGOCD_FAKE_IN_CLUSTER": "true",
        "ARGOCD_GPG_ENABLED": "false",
        "ARGOCD_ASK_PASS_SOCK": str(work_root / "askpass.sock"),
        "ARGOCD_APP_CONF_PATH": str(home),
        "ARGOCD_TLS_DATA_PATH": str(home / "tls"),
        "ARGOCD_SSH_DATA_PATH": str(home / "ssh"),
        "ARGOCD_GNUPGHOME": str(home / "gpg"),
        # A real install passes argocd-cm's timeout.reconciliation to the repo server
        # as this variable: how long it keeps a branch resolved to a commit (3 min unset).
        "ARGOCD_RECONCILIATION_TIMEOUT": f"{APP_RESYNC_SECONDS}s",
        # helm for Applications of charts (the repo server runs `helm template`).
        "PATH": f"{helm.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _git_daemon(
    work_root: pathlib.Path, logs: pathlib.Path, state: dict[str, Any]
) -> dict[str, Any]:
    served = work_root / "git"
    bare = served / "repo.git"
    bare.mkdir(parents=True)
    _git(bare, "init", "-q", "--bare", "--initial-branch=main")
    work = work_root / "work"
    _git(work_root, "clone", "-q", str(bare), str(work))
    _git(work, "checkout", "-q", "-b", "main")
    (work / "README").write_text("Manifests the e2e tests sync with Argo CD.\n")
    _git(work, "add", "README")
    _git(work, "commit", "-q", "-m", "init")
    _git(work, "push", "-q", "origin", "HEAD:main")
    port = _free_port()
    _spawn(
        state,
        logs / "git-daemon.log",
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={served}",
            "--export-all",
            "--informative-errors",
            str(served),
        ],
    )
    _wait_port(port, state, what="git daemon")
    return {"repo_url": f"git://127.0.0.1:{port}/repo.git", "work": str(work)}


def _spawn(
    state: dict[str, Any],
    log: pathlib.Path,
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
) -> None:
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            args,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            # Its own process group: stopped as a whole (git daemon forks per connection),
            # and not by a Ctrl-C meant for pytest before the teardown runs.
            start_new_session=True,
        )
    _STARTED[proc.pid] = proc
    state["pids"].append(proc.pid)


def _wait_port(port: int, state: dict[str, Any], *, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not all(_running(p) for p in state["pids"]):
            raise AssertionError(f"{what}: a process exited; logs in {state['logs']}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not listening on port {port} within {READY_TIMEOUT:.0f} s")


def _zombie(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def _install_crds(api_client: client.ApiClient, bodies: list[dict[str, Any]]) -> None:
    api = client.ApiextensionsV1Api(api_client)
    for body in bodies:
        try:
            api.create_custom_resource_definition(body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    for body in bodies:
        deadline = time.monotonic() + 30
        while True:
            got = api.read_custom_resource_definition(body["metadata"]["name"])
            conditions = got.status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"CRD {body['metadata']['name']} never became Established")
            time.sleep(0.2)


def _settings(api_client: client.ApiClient) -> None:
    """The namespace, settings and project a real install creates, with ``argocd-cm`` as
    the docs tell users to set it (``CONFIGMAP_EXAMPLE``)."""
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    # Argo CD reads only ConfigMaps and Secrets carrying this label.
    labels = {"app.kubernetes.io/part-of": "argocd"}
    core.create_namespaced_config_map(
        NAMESPACE,
        {
            "metadata": {"name": "argocd-cm", "labels": labels},
            "data": {
                **yaml.safe_load(CONFIGMAP_EXAMPLE.read_text())["data"],
                "timeout.reconciliation": f"{APP_RESYNC_SECONDS}s",
            },
        },
    )
    core.create_namespaced_config_map(
        NAMESPACE,
        {"metadata": {"name": "argocd-rbac-cm", "labels": labels}, "data": {}},
    )
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    core.create_namespaced_secret(
        NAMESPACE,
        {
            "metadata": {"name": "argocd-secret", "labels": labels},
            "data": {"server.secretkey": base64.b64encode(key.encode()).decode()},
        },
    )
    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP,
        VERSION,
        NAMESPACE,
        "appprojects",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    )


def _wait_namespace_gone(api_client: client.ApiClient, timeout: float = 120.0) -> None:
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespace(NAMESPACE)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        if time.monotonic() > deadline:
            raise AssertionError(f"namespace {NAMESPACE} still exists after {timeout:.0f} s")
        time.sleep(0.5)


def _teardown(api_client: client.ApiClient, state: Mapping[str, Any]) -> None:
    """Applications first (while the controller still runs to delete what they synced),
    then the processes, the namespace and the files."""
    custom = client.CustomObjectsApi(api_client)
    with contextlib.suppress(client.ApiException):
        apps = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "applications")
        for app in apps["items"]:
            with contextlib.suppress(client.ApiException):
                custom.delete_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "applications", app["metadata"]["name"]
                )
        deadline = time.monotonic() + 60
        while (
            custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "applications")["items"]
            and time.monotonic() < deadline
        ):
            time.sleep(1)
    for pid in state.get("pids", []):
        _stop_group(pid)
    # Whatever Argo CD did not finish must not hold the namespace.
    with contextlib.suppress(client.ApiException):
        apps = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "applications")
        for app in apps["items"]:
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                NAMESPACE,
                "applications",
                app["metadata"]["name"],
                {"metadata": {"finalizers": None}},
                _content_type="application/merge-patch+json",
            )
    with contextlib.suppress(client.ApiException):
        client.CoreV1Api(api_client).delete_namespace(NAMESPACE)
    root = state.get("root")
    if root:
        logs = pathlib.Path(state["logs"])
        for log in sorted(logs.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}\n")
        if KEEP_LOGS:
            shutil.copytree(
                logs, pathlib.Path(KEEP_LOGS) / pathlib.Path(root).name, dirs_exist_ok=True
            )
        shutil.rmtree(root, ignore_errors=True)


def _stop_group(pid: int) -> None:
    """Stops the process group ``_spawn`` started (its leader is ``pid``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if pid in _STARTED:
            _STARTED[pid].poll()
        if not _alive(pid) or _zombie(pid):
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    proc = _STARTED.pop(pid, None)
    if proc is not None:
        proc.wait()
