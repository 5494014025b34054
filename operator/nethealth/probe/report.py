"""Pure: the probe's result as a versioned JSON document, its compact form, and text.

The document (``schema: nethealth.io/probe-result/v1``) is what the operator reads back
from the probe Job's termination message, so its fields are a contract:

``schema``
    ``"nethealth.io/probe-result/v1"``; a consumer rejects other values.
``class``
    ``Healthy`` | ``PodNamespace`` | ``Filtered`` | ``NodeNetwork`` | ``Upstream`` |
    ``Inconclusive``.
``reason``
    One sentence per relevant target saying which namespaces failed and how often.
``truncated``
    ``true`` when `compact` dropped detail to fit the size limit.
``judged``
    One verdict per measured target, ``[{target, class, attempts, failures, blocks}]``:
    where that target's fault lies (the classes above) and the counts a verdict on the
    pod rests on. For ``PodNamespace``, ``Filtered`` and ``Healthy`` they are the target
    pod's connects to it without the time slots in which it and the fresh pod both failed
    (failures both share are not the pod's); for the other classes all of the target
    pod's connects to it. ``blocks`` counts runs of consecutive failures among them.
    Added to v1 without a schema change: a consumer that finds no ``judged`` judges the
    pooled counts of ``namespaces.target``, as before.
``hints``
    Ranked list of ``{code, evidence, advice}``, most likely cause first; ``code`` is
    stable: ``KernelBroadcastRouteCache``, ``PolicyRuleUnreachable`` / ``...Prohibit`` /
    ``...Blackhole``, ``LocalTableBroadcastEntry``, ``BlackholeRoute``, ``ProhibitRoute``,
    ``UnreachableRoute``, ``MissingDefaultRoute``, ``GatewayNeighbourFailed``,
    ``BroadcastSenders``, ``PerCpuFailures``, ``BurstyFailures``, ``PodTrafficFiltered``,
    ``PathRefused``,
    ``PathTimeout``, ``PathHostUnreachable``, ``TransientLocalRefusal``.
``dns``
    One entry per name resolved with the pod's resolver (the targets' names, and
    ``--dns-name``): ``{name, target, class, status, addresses, detail, tried, servers,
    control, host, own, unresolvable}``. ``status`` is the pod's (``ok``, ``timeout``,
    ``refused-locally``, ``unreachable``, ``servfail``, ``refused``, ``nxdomain``,
    ``nodata``, ``error``), ``control`` and ``host`` the same resolution's from a fresh
    pod and the node, ``own`` the probe's own resolver's (``null`` when not asked);
    ``unresolvable`` when nothing resolves it (the check names a name that does not
    exist). ``target`` is the target whose host it is, ``null`` for a ``--dns-name``. A
    target the pod cannot resolve is not measured: its ``judged`` entry is
    ``Inconclusive`` with no attempts. Added to v1 without a schema change.
``kernel``
    ``{release, version, status, issue, fixedIn, detail}`` with ``status`` one of
    ``Affected`` | ``Fixed`` | ``NotAffected`` | ``Unknown``; ``null`` if not assessed.
``namespaces``
    ``{target|control|host: {netns, error, attempts, failures, failureRate, errnos, cpus,
    blocks, targets}}``: ``errnos`` maps errno names (``ENETUNREACH``) to failure counts;
    ``cpus`` maps CPU numbers (as strings) to ``{attempts, failures}``; ``blocks`` lists
    runs of consecutive failures ``{start, end, failures}`` in seconds since that
    namespace's measurement began; ``targets`` maps target names to ``{attempts,
    failures, errnos}``. A namespace that could not be measured has ``error`` set.
``targets``
    ``[{name, host, port, addresses}]`` as probed.
``started``, ``finished``, ``durationSeconds``
    UTC timestamps (RFC 3339) and the run's length.
``window``
    ``{seconds, steps, maxSteps}``: how long the connects were spread over, in how many
    windows of ``--spread`` of at most ``--windows`` (a run that looks bad but is not
    failing yet measures longer: `probe.windows`); ``null`` when nothing was measured.
    Added to v1 without a schema change.
``probe``
    Free-form facts about the run (version, node, options) given by the caller.
``evidence``
    The target namespace's evidence, `types.Evidence` with camelCase keys:
    ``kernelRelease``, ``cpus``, ``lookups`` (``{target, address, kind: plain|flow|
    fib_match, cpu, type, flags, gateway, dev, errno}``), ``rules``, ``routes``,
    ``addresses``, ``neighbours``, ``counters`` (deltas, nstat names such as
    ``IpOutNoRoutes``), ``memberships``, ``udpSockets``, ``notes``, ``errors``; ``null``
    if none was gathered.

`compact` always fits a byte limit (4096 for a termination message) by dropping detail
in the order of ``DROP_ORDER`` (evidence first; ``schema``, ``class``, ``reason``, the
top hint and the per-target verdicts last), marking ``truncated: true``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from nethealth.probe import shorten, stats, types

SCHEMA: Final = "nethealth.io/probe-result/v1"
TERMINATION_LIMIT: Final = 4096
MIN_LIMIT: Final = 160  # below this not even schema, class and a reason fit

Document = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    """How long a run measured: ``steps`` windows of equal length, at most ``max_steps``."""

    seconds: float
    steps: int
    max_steps: int


def build(
    *,
    verdict: types.Verdict,
    measurements: Sequence[types.Measurement],
    evidence: types.Evidence | None,
    kernel: types.KernelAssessment | None,
    targets: Sequence[types.Target],
    started: datetime.datetime,
    finished: datetime.datetime,
    probe_info: Mapping[str, Any],
    window: Window | None = None,
) -> Document:
    """The full result document (see the module docstring for its fields)."""
    by_role = {m.role: m for m in measurements}
    return {
        "schema": SCHEMA,
        "class": verdict.klass.value,
        "reason": verdict.reason,
        "truncated": False,
        "judged": [_judged(v) for v in verdict.targets],
        "dns": [_dns(v) for v in verdict.dns],
        "hints": [dataclasses.asdict(h) for h in verdict.hints],
        "kernel": _kernel(kernel),
        "namespaces": {
            role.value: _namespace(by_role[role]) for role in types.Role if role in by_role
        },
        "targets": [_target(t, measurements) for t in targets],
        "started": _timestamp(started),
        "finished": _timestamp(finished),
        "durationSeconds": round((finished - started).total_seconds(), 3),
        "window": _window(window),
        "probe": dict(probe_info),
        "evidence": _camel(dataclasses.asdict(evidence)) if evidence is not None else None,
    }


def _judged(verdict: types.TargetVerdict) -> dict[str, Any]:
    return {
        "target": verdict.target,
        "class": verdict.klass.value,
        "attempts": verdict.attempts,
        "failures": verdict.failures,
        "blocks": verdict.blocks,
    }


def _dns(verdict: types.DnsVerdict) -> dict[str, Any]:
    pod = verdict.by_role.get(types.Role.TARGET)

    def status(role: types.Role) -> str | None:
        found = verdict.by_role.get(role)
        return found.status if found is not None else None

    return {
        "name": verdict.name,
        "target": verdict.target,
        "class": verdict.klass.value,
        "status": pod.status if pod is not None else None,
        "addresses": list(pod.addresses) if pod is not None else [],
        "detail": pod.detail if pod is not None else "",
        "tried": list(pod.tried) if pod is not None else [],
        "servers": list(verdict.servers),
        "control": status(types.Role.CONTROL),
        "host": status(types.Role.HOST),
        "own": verdict.own.status if verdict.own is not None else None,
        "unresolvable": verdict.unresolvable,
    }


def _window(window: Window | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {"seconds": window.seconds, "steps": window.steps, "maxSteps": window.max_steps}


def _camel(value: Any) -> Any:
    """snake_case keys -> camelCase, like the rest of the document (counter names stay)."""
    if isinstance(value, dict):
        return {_camel_key(k): v if k == "counters" else _camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _kernel(kernel: types.KernelAssessment | None) -> dict[str, Any] | None:
    if kernel is None:
        return None
    return {
        "release": kernel.release,
        "version": kernel.version,
        "status": kernel.status.value,
        "issue": kernel.issue,
        "fixedIn": kernel.fixed_in,
        "detail": kernel.detail,
    }


def _namespace(measurement: types.Measurement) -> dict[str, Any]:
    attempts = measurement.attempts
    total = stats.tally(attempts)
    names = list(dict.fromkeys(a.target for a in attempts))
    return {
        "netns": measurement.netns,
        "error": measurement.error,
        "attempts": total.attempts,
        "failures": total.failures,
        "failureRate": round(total.rate, 3),
        "errnos": _errnos(total),
        "cpus": {
            str(cpu): {"attempts": t.attempts, "failures": t.failures}
            for cpu, t in stats.per_cpu(attempts).items()
        },
        "blocks": [
            {"start": round(b.start, 2), "end": round(b.end, 2), "failures": b.failures}
            for b in stats.blocks(attempts)
        ],
        "targets": {name: _per_target(name, attempts) for name in names},
    }


def _per_target(name: str, attempts: Sequence[types.Attempt]) -> dict[str, Any]:
    t = stats.tally(a for a in attempts if a.target == name)
    return {"attempts": t.attempts, "failures": t.failures, "errnos": _errnos(t)}


def _errnos(t: stats.Tally) -> dict[str, int]:
    return {stats.errno_name(code): count for code, count in t.errnos}


def _target(target: types.Target, measurements: Sequence[types.Measurement]) -> dict[str, Any]:
    addresses = sorted(
        {a.address for m in measurements for a in m.attempts if a.target == target.name}
    )
    return {"name": target.name, "host": target.host, "port": target.port, "addresses": addresses}


def _timestamp(moment: datetime.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


# --- compact ---------------------------------------------------------------------------


def dumps(doc: Document) -> str:
    """The document as compact JSON (UTF-8 text; non-ASCII kept, not escaped)."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def size(doc: Document) -> int:
    return len(dumps(doc).encode("utf-8"))


def compact(doc: Document, limit: int = TERMINATION_LIMIT) -> str:
    """``doc`` as JSON of at most ``limit`` bytes (UTF-8), dropping detail in order.

    Raises ValueError for a limit too small to hold even schema, class and reason.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} bytes, got {limit}")
    if size(doc) <= limit:
        return dumps(doc)
    current = copy.deepcopy(doc)
    current["truncated"] = True
    for _, step in DROP_ORDER:
        step(current)
        if size(current) <= limit:
            return dumps(current)
    return dumps(_minimal(current, limit))


def _minimal(doc: Document, limit: int) -> Document:
    """Schema, class, a reason cut to fit, and the truncation mark: always fits."""
    reason = str(doc.get("reason", ""))
    minimal: Document = {
        "schema": SCHEMA,
        "class": _cut(str(doc.get("class", types.ProbeClass.INCONCLUSIVE.value)), 32),
        "reason": "",
        "truncated": True,
    }
    room = limit - size(minimal)
    minimal["reason"] = _cut_to_bytes(reason, room)
    while minimal["reason"] and size(minimal) > limit:
        # JSON escapes (quotes, control characters) make the text longer than its bytes.
        minimal["reason"] = _cut_to_bytes(minimal["reason"], len(minimal["reason"]) // 2)
    return minimal


def _cut(text: str, chars: int) -> str:
    return shorten.chars(text, limit=chars)


def _cut_to_bytes(text: str, room: int) -> str:
    return shorten.utf8(text, limit=room)


def _each_namespace(doc: Document, func: Callable[[dict[str, Any]], None]) -> None:
    for namespace in (doc.get("namespaces") or {}).values():
        func(namespace)


def _drop(*keys: str) -> Callable[[Document], None]:
    def step(doc: Document) -> None:
        for key in keys:
            doc.pop(key, None)

    return step


def _drop_in_namespaces(key: str) -> Callable[[Document], None]:
    def step(doc: Document) -> None:
        _each_namespace(doc, lambda ns: ns.pop(key, None))

    return step


def _keep_first_blocks(doc: Document) -> None:
    def cut(ns: dict[str, Any]) -> None:
        if len(ns.get("blocks") or []) > 3:
            ns["blocks"] = ns["blocks"][:3]

    _each_namespace(doc, cut)


def _top_errnos(doc: Document) -> None:
    def cut(ns: dict[str, Any]) -> None:
        errnos = ns.get("errnos") or {}
        ns["errnos"] = dict(sorted(errnos.items(), key=lambda item: -item[1])[:3])

    _each_namespace(doc, cut)


def _keep_hints(count: int) -> Callable[[Document], None]:
    def step(doc: Document) -> None:
        doc["hints"] = (doc.get("hints") or [])[:count]

    return step


def _cut_hints(chars: int) -> Callable[[Document], None]:
    def step(doc: Document) -> None:
        for hint in doc.get("hints") or []:
            hint["code"] = _cut(str(hint.get("code", "")), 64)
            hint["evidence"] = _cut(str(hint.get("evidence", "")), chars)
            hint["advice"] = _cut(str(hint.get("advice", "")), chars)

    return step


def _kernel_summary(doc: Document) -> None:
    kernel = doc.get("kernel")
    if isinstance(kernel, dict):
        doc["kernel"] = {
            "release": _cut(str(kernel.get("release", "")), 64),
            "status": kernel.get("status"),
            "fixedIn": kernel.get("fixedIn"),
        }


def _namespace_totals(doc: Document) -> None:
    def cut(ns: dict[str, Any]) -> None:
        for key in list(ns):
            if key not in ("attempts", "failures", "error"):
                ns.pop(key)
        if ns.get("error"):
            ns["error"] = _cut(str(ns["error"]), 80)
        else:
            ns.pop("error", None)

    _each_namespace(doc, cut)


def _dns_summary(doc: Document) -> None:
    keep = ("name", "target", "class", "status", "unresolvable")
    doc["dns"] = [{k: v for k, v in entry.items() if k in keep} for entry in doc.get("dns") or []]


def _cut_reason(chars: int) -> Callable[[Document], None]:
    def step(doc: Document) -> None:
        doc["reason"] = _cut(str(doc.get("reason", "")), chars)

    return step


# What `compact` gives up, first to last. Per-namespace totals, the top hint, schema,
# class and reason survive longest: they are what the operator decides on.
DROP_ORDER: Final[tuple[tuple[str, Callable[[Document], None]], ...]] = (
    ("evidence", _drop("evidence")),
    ("probe facts", _drop("probe")),
    ("per-target detail per namespace", _drop_in_namespaces("targets")),
    ("names resolved, beyond what decides", _dns_summary),
    ("time blocks beyond the first three", _keep_first_blocks),
    ("per-CPU counts", _drop_in_namespaces("cpus")),
    ("time blocks", _drop_in_namespaces("blocks")),
    ("target list", _drop("targets")),
    ("errno histograms beyond the top three", _top_errnos),
    ("hints beyond the top three", _keep_hints(3)),
    ("long hint text", _cut_hints(240)),
    ("kernel detail", _kernel_summary),
    ("timestamps", _drop("started", "finished")),
    ("hint text", _cut_hints(100)),
    ("errno histograms", _drop_in_namespaces("errnos")),
    ("namespace detail beyond totals", _namespace_totals),
    ("long reason", _cut_reason(400)),
    ("hints beyond the top one", _keep_hints(1)),
    ("duration", _drop("durationSeconds")),
    ("shorter reason", _cut_reason(160)),
    ("kernel", _drop("kernel")),
    ("hints", _drop("hints")),
    ("namespaces", _drop("namespaces")),
    ("names resolved", _drop("dns")),
    ("per-target verdicts", _drop("judged")),
)


# --- text --------------------------------------------------------------------------------


def render_text(doc: Document) -> str:
    """A report for people: namespaces side by side, errnos, CPUs, blocks, hints."""
    lines = [f"nethealth probe: {doc.get('class')}", f"reason: {doc.get('reason')}"]
    if doc.get("truncated"):
        lines.append("(detail was dropped to fit a size limit)")
    kernel = doc.get("kernel")
    if isinstance(kernel, dict):
        lines.append(_kernel_line(kernel))
    window = doc.get("window")
    if isinstance(window, dict) and window.get("steps"):
        lines.append(_window_line(window))
    namespaces: dict[str, dict[str, Any]] = doc.get("namespaces") or {}
    if namespaces:
        lines += ["", *_namespace_table(namespaces)]
        for role, ns in namespaces.items():
            blocks = ns.get("blocks") or []
            if blocks:
                shown = ", ".join(
                    f"{b['start']:.1f}-{b['end']:.1f} s ({b['failures']})" for b in blocks[:8]
                )
                more = f" and {len(blocks) - 8} more" if len(blocks) > 8 else ""
                lines.append(f"failure blocks in {role}: {shown}{more}")
    names = [e for e in doc.get("dns") or [] if isinstance(e, dict)]
    if names:
        lines += ["", "names, resolved as the pod resolves them:"]
        lines += [_dns_line(entry) for entry in names]
    hints = doc.get("hints") or []
    if hints:
        lines += ["", "hints:"]
        for number, hint in enumerate(hints, start=1):
            lines.append(f"{number:2d}. {hint.get('code')}")
            lines.append(f"    evidence: {hint.get('evidence')}")
            lines.append(f"    advice:   {hint.get('advice')}")
    return "\n".join(lines) + "\n"


def _dns_line(entry: dict[str, Any]) -> str:
    got = ", ".join(entry.get("addresses") or []) or entry.get("detail") or ""
    line = f"  {entry.get('name')}: {entry.get('status')}" + (f" ({got})" if got else "")
    others = [
        f"{word} {entry.get(key)}"
        for key, word in (("control", "fresh pod"), ("host", "node"), ("own", "probe's own"))
        if entry.get(key) is not None
    ]
    return line + (f"; {', '.join(others)}" if others else "")


def _window_line(window: dict[str, Any]) -> str:
    steps, most = window.get("steps"), window.get("maxSteps")
    line = f"window {float(window.get('seconds') or 0):g} s"
    if isinstance(most, int) and most > 1:
        line += f" ({steps} of at most {most} windows: longer only while the pod looks bad)"
    return line


def _kernel_line(kernel: dict[str, Any]) -> str:
    line = f"kernel {kernel.get('release')}: {kernel.get('status')}"
    if kernel.get("status") == types.KernelStatus.AFFECTED.value:
        line += f" (broadcast route cache regression; fixed in {kernel.get('fixedIn')})"
    if kernel.get("detail"):
        line += f" - {kernel['detail']}"
    return line


def _namespace_table(namespaces: dict[str, dict[str, Any]]) -> list[str]:
    roles = list(namespaces)
    rows: list[tuple[str, list[str]]] = [
        ("namespace", roles),
        ("attempts", [_cell(ns, "attempts") for ns in namespaces.values()]),
        ("failures", [_failures_cell(ns) for ns in namespaces.values()]),
    ]
    errnos = sorted({name for ns in namespaces.values() for name in (ns.get("errnos") or {})})
    for name in errnos:
        rows.append(
            (name, [str((ns.get("errnos") or {}).get(name, "-")) for ns in namespaces.values()])
        )
    cpus = sorted(
        {cpu for ns in namespaces.values() for cpu in (ns.get("cpus") or {})}, key=_cpu_order
    )
    for cpu in cpus:
        cells = []
        for ns in namespaces.values():
            counts = (ns.get("cpus") or {}).get(cpu)
            cells.append(f"{counts['failures']}/{counts['attempts']}" if counts else "-")
        rows.append((f"cpu {cpu} failed", cells))
    errors = [(role, ns["error"]) for role, ns in namespaces.items() if ns.get("error")]
    width = max(len(label) for label, _ in rows) + 2
    column = max(14, *(len(c) + 2 for _, cells in rows for c in cells))
    table = [label.ljust(width) + "".join(c.ljust(column) for c in cells) for label, cells in rows]
    table = [line.rstrip() for line in table]
    table += [f"{role} not measured: {error}" for role, error in errors]
    return table


def _cell(ns: dict[str, Any], key: str) -> str:
    value = ns.get(key)
    return "-" if value is None else str(value)


def _failures_cell(ns: dict[str, Any]) -> str:
    attempts, failures = ns.get("attempts") or 0, ns.get("failures") or 0
    if not attempts:
        return "-"
    return f"{failures} ({100 * failures / attempts:.0f}%)"


def _cpu_order(cpu: str) -> tuple[int, str]:
    return (int(cpu), cpu) if cpu.isdigit() else (1 << 30, cpu)
