"""Pure: a diagnosis as text for people, and as JSON or YAML for programs.

The text answers in the order a person asks: where is the fault (class and verdict),
what shows it (the three namespaces side by side: the pod, a fresh pod on the same node,
the node itself; errno histogram; failures per CPU, since the seed incident's kernel bug
fails only on the CPUs whose route cache is poisoned; failures over time, since it comes
and goes in blocks of seconds), and what to do (the probe's hints with their advice).

The JSON/YAML form wraps the probe's own result document, unchanged (its schema is
``nethealth.io/probe-result/v1``), with what was diagnosed and the verdict.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from nethealth.plugin import diagnosis
from nethealth.probe import types

WIDTH: Final = 100
STRIP: Final = 60  # characters of the time strip
LABEL: Final = 22  # width of the row labels

ROLES: Final = (types.Role.TARGET, types.Role.CONTROL, types.Role.HOST)
ROLE_TITLES: Final = {
    types.Role.TARGET: "pod",
    types.Role.CONTROL: "fresh pod",
    types.Role.HOST: "node",
}
CLASS_MEANING: Final = {
    types.ProbeClass.HEALTHY: "the pod reaches its targets",
    types.ProbeClass.POD_NAMESPACE: (
        "only this pod's network namespace fails; a fresh pod on the same node and the node"
        " itself do not, so the fault is in the pod's namespace (its routes, policy rules,"
        " or the kernel's per-CPU route cache for it)"
    ),
    types.ProbeClass.FILTERED: (
        "only this pod fails, but beyond its network namespace (timeouts or refusals from the"
        " path or the peer, where a fresh pod on the same node gets through): its traffic is"
        " filtered, most likely by a NetworkPolicy that selects it"
    ),
    types.ProbeClass.NODE_NETWORK: (
        "this pod and a fresh pod on the same node fail, the node itself does not: the"
        " node's pod networking (CNI, host-side routes or firewall) is at fault"
    ),
    types.ProbeClass.UPSTREAM: (
        "every namespace fails, the node's own too: the destination or the path beyond"
        " the node is at fault, not this pod"
    ),
    types.ProbeClass.INCONCLUSIVE: "the probe could not measure well enough to say",
}
SOURCE_WORDS: Final = {
    diagnosis.Source.LOG: "from the probe's log (full result)",
    diagnosis.Source.TERMINATION_MESSAGE: (
        "from the probe's termination message (compact: detail may have been dropped)"
    ),
    diagnosis.Source.NONE: "none: the probe gave no valid result",
}

Document = Mapping[str, Any]
Namespace = Mapping[str, Any]


# --- JSON / YAML --------------------------------------------------------------------------


def envelope(result: diagnosis.Diagnosis) -> dict[str, Any]:
    subject = result.subject
    return {
        "pod": {"namespace": subject.namespace, "name": subject.name, "node": subject.node},
        "job": {"namespace": subject.namespace, "name": subject.job, "image": subject.image},
        "verdict": result.verdict.value,
        "exitCode": result.exit_code,
        "why": result.why,
        "source": result.source.value,
        "seconds": None if result.seconds is None else round(result.seconds, 1),
        "logTail": list(result.log_tail),
        "result": result.document,
    }


def as_json(result: diagnosis.Diagnosis) -> str:
    return json.dumps(envelope(result), indent=2, ensure_ascii=False) + "\n"


def as_yaml(result: diagnosis.Diagnosis) -> str:
    import yaml  # noqa: PLC0415 - only for -o yaml

    return str(yaml.safe_dump(envelope(result), sort_keys=False, allow_unicode=True))


# --- text ---------------------------------------------------------------------------------


def text(result: diagnosis.Diagnosis) -> str:
    """The report for people (see the module docstring)."""
    doc = result.document or {}
    lines = _header(result, doc)
    namespaces = _namespaces(doc)
    if namespaces:
        lines += ["", *namespace_table(namespaces)]
        lines += ["", *time_strips(namespaces, window=window(doc))]
    hints = doc.get("hints") or []
    if hints:
        lines += ["", *hint_lines(hints)]
    if result.log_tail:
        lines += ["", "Probe log (last lines):", *(f"  {line}" for line in result.log_tail)]
    verdict = f"{result.verdict.value} (exit {result.exit_code}): {result.why}"
    lines += ["", *_wrapped("Verdict", verdict)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _header(result: diagnosis.Diagnosis, doc: Document) -> list[str]:
    subject = result.subject
    took = "" if result.seconds is None else f", {result.seconds:.0f} s"
    lines = [
        f"{'Pod':<10} {subject.key} on node {subject.node}",
        f"{'Probe':<10} Job {subject.job} ({subject.image}{took})",
        f"{'Result':<10} {SOURCE_WORDS[result.source]}",
    ]
    if not doc:
        return lines
    klass = str(doc.get("class"))
    meaning = next((v for k, v in CLASS_MEANING.items() if k.value == klass), "")
    lines += _wrapped("Class", f"{klass}: {meaning}" if meaning else klass)
    if doc.get("reason"):
        lines += _wrapped("Reason", str(doc["reason"]))
    kernel = doc.get("kernel")
    if isinstance(kernel, dict):
        lines += _wrapped("Kernel", kernel_text(kernel))
    targets = doc.get("targets") or []
    if targets:
        shown = ", ".join(_target_text(t) for t in targets)
        lines += _wrapped("Targets", shown)
    if doc.get("truncated"):
        lines.append(f"{'':<10} (the probe dropped detail to fit its termination message)")
    return lines


def _wrapped(label: str, body: str) -> list[str]:
    return textwrap.wrap(
        body,
        width=WIDTH,
        initial_indent=f"{label:<10} ",
        subsequent_indent=" " * 11,
        break_on_hyphens=False,
    ) or [label]


def _target_text(target: Mapping[str, Any]) -> str:
    host, port = target.get("host"), target.get("port")
    where = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    addresses = [a for a in target.get("addresses") or [] if a != host]
    resolved = f" ({', '.join(addresses)})" if addresses else ""
    return f"{target.get('name')} = {where}{resolved}"


def kernel_text(kernel: Mapping[str, Any]) -> str:
    line = f"{kernel.get('release')}: {kernel.get('status')}"
    if kernel.get("status") == types.KernelStatus.AFFECTED.value:
        line += (
            " - carries the IPv4 broadcast route cache regression;"
            f" fixed in {kernel.get('fixedIn') or 'a later release'}"
        )
    elif kernel.get("detail"):
        line += f" ({kernel['detail']})"
    return line


def _namespaces(doc: Document) -> dict[types.Role, Namespace]:
    raw = doc.get("namespaces") or {}
    return {role: raw[role.value] for role in ROLES if isinstance(raw.get(role.value), dict)}


def namespace_table(namespaces: Mapping[types.Role, Namespace]) -> list[str]:
    """The namespaces side by side: totals, errnos, per target, per CPU."""
    roles = list(namespaces)
    columns = [namespaces[r] for r in roles]
    rows: list[tuple[str, list[str]]] = [
        ("", [f"{r.value} ({ROLE_TITLES[r]})" for r in roles]),
        ("connects", [_count(ns, "attempts") for ns in columns]),
        ("failed", [_failed(ns.get("failures"), ns.get("attempts")) for ns in columns]),
    ]
    errnos = _keys(columns, "errnos", order=lambda name: (-_total(columns, "errnos", name), name))
    if errnos:
        rows.append(("errors (errno)", ["" for _ in columns]))
        rows += [
            (f"  {name}", [str((ns.get("errnos") or {}).get(name, "-")) for ns in columns])
            for name in errnos
        ]
    targets = _keys(columns, "targets", order=lambda name: (0, name))
    if len(targets) > 1:
        rows.append(("failed per target", ["" for _ in columns]))
        rows += [(f"  {name}", _per(columns, "targets", name)) for name in targets]
    cpus = _keys(columns, "cpus", order=_cpu_order)
    if cpus:
        rows.append(("failed per CPU", ["" for _ in columns]))
        rows += [(f"  cpu {cpu}", _per(columns, "cpus", cpu)) for cpu in cpus]
    elif any(ns.get("attempts") for ns in columns):
        rows.append(("failed per CPU", ["(not in the compact result)"]))
    width = max(14, *(len(c) + 2 for _, cells in rows for c in cells))
    table = [label.ljust(LABEL) + "".join(c.ljust(width) for c in cells) for label, cells in rows]
    errors = [(r, ns["error"]) for r, ns in namespaces.items() if ns.get("error")]
    table += [f"{r.value} not measured: {error}" for r, error in errors]
    return table


def _per(columns: Sequence[Namespace], field: str, key: str) -> list[str]:
    """``failures/attempts`` of one target or CPU in each namespace."""
    cells = []
    for ns in columns:
        counts = (ns.get(field) or {}).get(key) or {}
        cells.append(_failed(counts.get("failures"), counts.get("attempts")))
    return cells


def _count(ns: Namespace, key: str) -> str:
    value = ns.get(key)
    return "-" if value is None or ns.get("error") else str(value)


def _failed(failures: object, attempts: object) -> str:
    if not isinstance(attempts, int) or not isinstance(failures, int) or attempts <= 0:
        return "-"
    return f"{failures}/{attempts} ({100 * failures / attempts:.0f}%)"


def _keys(
    columns: Sequence[Namespace], field: str, *, order: Callable[[str], tuple[int, str]]
) -> list[str]:
    found = {str(k) for ns in columns for k in (ns.get(field) or {})}
    return sorted(found, key=order)


def _total(columns: Sequence[Namespace], field: str, key: str) -> int:
    return sum(int((ns.get(field) or {}).get(key) or 0) for ns in columns)


def _cpu_order(cpu: str) -> tuple[int, str]:
    return (int(cpu), cpu) if cpu.isdigit() else (1 << 30, cpu)


def window(doc: Document) -> float:
    """The measurement window in seconds: what the probe measured (longer than its spread
    when the pod looked bad), else its spread, else what the blocks span."""
    measured = (doc.get("window") or {}).get("seconds")
    if isinstance(measured, int | float) and not isinstance(measured, bool) and measured > 0:
        return float(measured)
    options = (doc.get("probe") or {}).get("options") or {}
    spread = options.get("spread")
    if isinstance(spread, int | float) and spread > 0:
        return float(spread)
    ends = [
        float(b.get("end") or 0)
        for ns in (doc.get("namespaces") or {}).values()
        if isinstance(ns, dict)
        for b in ns.get("blocks") or []
    ]
    return max([1.0, *ends])


def time_strips(namespaces: Mapping[types.Role, Namespace], *, window: float) -> list[str]:
    """Failures over time: one strip per namespace, ``x`` where its connects failed.

    A block is a run of consecutive failed connects, from the first failure's time to the
    last's; between blocks the connects succeeded, so the strip is exact at its scale.
    """
    if not any("blocks" in ns for ns in namespaces.values()):
        return ["Failures over time: not in the compact result"]
    step = window / STRIP
    lines = [
        f"Failures over time (x = failed, . = ok; {STRIP} columns of {step:.2g} s,"
        f" {window:g} s window)"
    ]
    listed: list[str] = []
    for role, ns in namespaces.items():
        label = f"  {role.value}".ljust(LABEL)
        if ns.get("error"):
            lines.append(f"{label}not measured")
            continue
        blocks = ns.get("blocks")
        if blocks is None:
            note = "failures, blocks not in the compact result" if ns.get("failures") else "ok"
            lines.append(f"{label}({note})")
            continue
        lines.append(f"{label}|{strip(blocks, window=window)}|")
        if blocks:
            listed.append(f"  {role.value}: {blocks_text(blocks)}")
    lines.append(" " * LABEL + f"0 s{'':>{STRIP - 4}}{window:g} s")
    if listed:
        lines += ["Failure blocks (start-end, failed connects):", *listed]
    return lines


def strip(blocks: Sequence[Mapping[str, Any]], *, window: float) -> str:
    cells = ["."] * STRIP
    for block in blocks:
        start, end = float(block.get("start") or 0), float(block.get("end") or 0)
        first = min(STRIP - 1, max(0, math.floor(start / window * STRIP)))
        last = min(STRIP - 1, max(first, math.floor(end / window * STRIP)))
        for i in range(first, last + 1):
            cells[i] = "x"
    return "".join(cells)


def blocks_text(blocks: Sequence[Mapping[str, Any]], *, shown: int = 8) -> str:
    parts = [
        f"{float(b.get('start') or 0):.1f}-{float(b.get('end') or 0):.1f} s ({b.get('failures')})"
        for b in blocks[:shown]
    ]
    more = f" and {len(blocks) - shown} more" if len(blocks) > shown else ""
    return ", ".join(parts) + more


def hint_lines(hints: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["Hints (most likely cause first):"]
    for number, hint in enumerate(hints, start=1):
        lines.append(f"{number:>3}. {hint.get('code')}")
        for label in ("evidence", "advice"):
            if hint.get(label):
                lines += textwrap.wrap(
                    str(hint[label]),
                    width=WIDTH,
                    initial_indent=f"     {label + ':':<10}",
                    subsequent_indent=" " * 15,
                    break_on_hyphens=False,
                )
    return lines
