"""A real Prometheus (Debian's ``prometheus`` binary) as a host process for e2e tests: it
scrapes the operator's metrics port and evaluates the chart's rule file, and the tests read
its HTTP API the way Grafana and Alertmanager do."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

READY_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]

    def _get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's series: ``[{"metric": {...}, "value": [t, "v"]}, ...]``."""
        data = self._get("/api/v1/query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), data
        return list(data["result"]) if data["resultType"] == "vector" else [data["result"]]

    def alerts(self, name: str, *, state: str = "firing") -> list[dict[str, str]]:
        """The labels of the active alerts called ``name`` in ``state``."""
        return [
            alert["labels"]
            for alert in self._get("/api/v1/alerts")["alerts"]
            if alert["labels"]["alertname"] == name and alert["state"] == state
        ]

    def annotations(self, name: str) -> list[dict[str, str]]:
        return [
            alert["annotations"]
            for alert in self._get("/api/v1/alerts")["alerts"]
            if alert["labels"]["alertname"] == name and alert["state"] == "firing"
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(
    *,
    job: str,
    target: str,
    target_labels: Mapping[str, str],
    rule_files: list[pathlib.Path],
    interval: str,
) -> dict[str, Any]:
    """A scrape of one target as the Prometheus Operator writes it for the chart's
    ServiceMonitor: the job name, honour_labels, and the target labels it adds."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "honor_labels": True,
                "static_configs": [{"targets": [target], "labels": dict(target_labels)}],
            }
        ],
    }


@contextlib.contextmanager
def prometheus(
    *, binary: str, workdir: pathlib.Path, settings: Mapping[str, Any]
) -> Iterator[Prometheus]:
    """Prometheus with ``settings`` as its configuration, on a free port; stopped (and its
    log shown) afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(dict(settings)), encoding="utf-8")
    port = _free_port()
    log = workdir / "prometheus.log"
    args = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("ab") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    running = Prometheus(url=f"http://127.0.0.1:{port}", proc=proc)
    try:
        _wait_ready(running, log=log)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        sys.stderr.write(log.read_text()[-3000:])


def _wait_ready(running: Prometheus, *, log: pathlib.Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {log.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{running.url}/-/ready", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"prometheus not ready within {READY_TIMEOUT:.0f} s")
