"""The API server's own count of requests (``apiserver_request_total``), by verb.

The counter is cluster-wide: every client's requests are in it (controllers, the
scheduler, kubelets, the benchmark's own helpers, anyone else using the cluster), and it
has no label naming the client. A benchmark takes the difference over a window and
compares windows that differ only in the process under test.
"""

from __future__ import annotations

import collections
import re
from typing import Any

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_VERB = re.compile(r'(?:^|,)verb="(?P<verb>[^"]*)"')


def scrape(api_client: Any) -> str:
    """The API server's /metrics text (the admin credentials may read it)."""
    url = api_client.configuration.host.rstrip("/") + "/metrics"
    response = api_client.call_api("GET", url, _request_timeout=30)
    response.read()
    return str(response.data.decode())


def by_verb(text: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None:
            continue
        verb = _VERB.search(sample["labels"])
        counts[verb["verb"] if verb else "?"] += int(float(sample["value"]))
    return counts


def delta(
    before: collections.Counter[str], after: collections.Counter[str]
) -> collections.Counter[str]:
    """Requests made between two scrapes, by verb (a restarted server would go negative:
    those verbs are left out)."""
    return collections.Counter(
        {verb: after[verb] - before[verb] for verb in after if after[verb] >= before[verb]}
    )
