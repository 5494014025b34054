"""Kernel releases known to carry the IPv4 broadcast route cache regression.

Commit 9e30ecf23b1b ("net: ipv4: fix incorrect MTU in broadcast routes") stopped
`__mkroute_output()` from dropping the nexthop of a route to 255.255.255.255. The
broadcast route (flags LOCAL|BROADCAST) then lands in the default nexthop's per-CPU
output cache, and later unicast lookups on that CPU get it: `connect()` fails with
ENETUNREACH on some CPUs, in blocks of seconds. 5189446ba995 ("net: ipv4: fix regression
in local-broadcast routes") fixed it. Both were backported to the stable series, so the
bad window is a few releases per series; the table below lists them with their sources.

Only the upstream version decides. Distribution kernels hide it: Debian and Ubuntu
report an ABI name (``6.1.0-38-amd64``, ``6.8.0-45-generic``) in ``uname -r`` and put the
package version into ``/proc/version`` (``... #1 SMP PREEMPT_DYNAMIC Debian 6.1.149-1
(2025-08-28)``) or ``/proc/version_signature`` (``Ubuntu 6.8.0-45.45-generic 6.8.12``);
enterprise kernels (RHEL, SUSE) backport selectively, so their numbers say nothing. When
the version cannot be read the answer is `KernelStatus.UNKNOWN`, never a guess.

/proc/version names the *compiler's* package too (``gcc-12 (Debian 12.2.0-14) 12.2.0``),
and a kernel built by hand on Debian has only that one: taking any ``Debian X.Y.Z`` read
such a kernel as 12.2.0. So only the kernel's own build banner counts (after ``#N``, a
package version and its date), and only when its series matches ``uname -r``'s;
otherwise ``uname -r`` decides. The table is a guide, not proof: a local or distribution
build can carry the regression without its version saying so, which is why the
classifier trusts a poisoned route it sees over this module's verdict.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Final

from nethealth.probe import types

ISSUE: Final = "ipv4-broadcast-route-cache"
FIX_COMMIT: Final = '5189446ba995 ("net: ipv4: fix regression in local-broadcast routes")'

Version = tuple[int, int, int, int]  # major, minor, patch, rc (rc 0 = a release)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BadRange:
    """One stable series' releases that carry the regression: first_bad <= v < fixed."""

    series: str  # "6.1"; "mainline" rows use -rc versions
    first_bad: str
    fixed: str | None  # None: the series ended without a fixed release
    source: str


# Stable review series of 2025-08-18 (6.12.43, 6.15.11, 6.16.2) and 2025-08-26 (6.6.103,
# 6.1.149, 5.15.190, 5.10.241, 5.4.297) carried 9e30ecf23b1b; the review series of
# 2025-09-02 carried the fix for 6.16, 6.6, 6.1, 5.15 and 5.10 (stable list, "[PATCH x.y
# nn/mm] net: ipv4: fix regression in local-broadcast routes").
BAD_RANGES: Final[tuple[BadRange, ...]] = (
    BadRange(
        series="mainline",
        first_bad="6.17-rc1",
        fixed="6.17-rc4",
        source="9e30ecf23b1b merged via net-next on 2025-07-15 (6.17 merge window); "
        "openwrt/openwrt#19929: fix 'from upstream kernel 6.17-rc4'",
    ),
    BadRange(
        series="6.16",
        first_bad="6.16.2",
        fixed="6.16.5",
        source="first bad inferred: 6.16.2-rc1 is of the 2025-08-18 review series that "
        "carried it to 6.12.43 and 6.15.11, and it was reported present in 6.16.3 (Brett A C "
        "Sheffield, stable list, 2025-08-26); 'confirmed fixed' on 6.16.5-rc1 (2025-09-02)",
    ),
    BadRange(
        series="6.15",
        first_bad="6.15.11",
        fixed=None,
        source="[PATCH 6.15 228/515] in 6.15.11-rc1 (2025-08-18); 6.15 ended with 6.15.11",
    ),
    BadRange(
        series="6.12",
        first_bad="6.12.43",
        fixed="6.12.45",
        source="siderolabs/pkgs#1320 (6.12.41 fine, 6.12.43 bad, fixed in 6.12.45); "
        "home-assistant/operating-system#4265, #4287; [PATCH 6.12 191/444]",
    ),
    BadRange(
        series="6.6",
        first_bad="6.6.103",
        fixed="6.6.104",
        source="Linux 6.6.103 announcement lists 9e30ecf23b1b; fix as [PATCH 6.6 17/75] "
        "(2025-09-02); openwrt/openwrt#19929 (OpenWrt patched its 6.6.103 and 6.12.43), "
        "#19955 (6.6.104 carries the fix)",
    ),
    BadRange(
        series="6.1",
        first_bad="6.1.149",
        fixed="6.1.150",
        source="[PATCH 6.1 127/482] in the 6.1.149-rc1 review (2025-08-26); fix as "
        "[PATCH 6.1 13/50] in the 6.1.150-rc1 review (2025-09-02)",
    ),
    BadRange(
        series="5.15",
        first_bad="5.15.190",
        fixed="5.15.191",
        source="5.15.190-rc1 review (2025-08-26); fix as [PATCH 5.15 09/33] in the "
        "5.15.191-rc1 review (2025-09-02)",
    ),
    BadRange(
        series="5.10",
        first_bad="5.10.241",
        fixed="5.10.242",
        source="5.10.241-rc1 review (2025-08-26); fix as [PATCH 5.10 08/34] in the "
        "5.10.242-rc1 review (2025-09-02)",
    ),
    BadRange(
        series="5.4",
        first_bad="5.4.297",
        fixed=None,
        source="[PATCH 5.4 214/403] in 5.4.297-rc1 (2025-08-26); no 5.4 release with the "
        "fix was found (a backport was still being asked for in 2025-12)",
    ),
)

_UPSTREAM = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?")
# Debian/Ubuntu ABI names: X.Y.0-ABI-flavour; the real patch level is elsewhere.
_ABI_NAME = re.compile(r"^\d+\.\d+\.0-\d+(?:\.\d+)?-[a-z]")
# Enterprise kernels: numbers do not map onto upstream stable releases.
_VENDOR = re.compile(r"\.el\d|\.uek|-\d{6}\.\d|\.amzn\d|\.an\d|\.oe\d|\.ky\d")
# The kernel's build banner: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.149-1 (2025-08-28)", also
# backports ("6.12.38-1~bpo12+1") and experimental -rc packages ("6.17~rc4-1~exp1"). The
# compiler's "(Debian 12.2.0-14)" comes before "#" and has no date, so it never matches.
_DEBIAN = re.compile(
    r"#\d+[^()#]*?\bDebian (\d+\.\d+(?:\.\d+)?)(?:~rc(\d+))?-\S+ \(\d{4}-\d{2}-\d{2}\)"
)
_SIGNATURE = re.compile(r"\s(\d+\.\d+\.\d+)\s*$")


def parse(text: str) -> Version | None:
    """``"6.1.149"`` -> (6, 1, 149, 0); ``"6.17-rc3"`` -> (6, 17, 0, 3); else None."""
    match = _UPSTREAM.match(text.strip())
    if match is None:
        return None
    major, minor, patch, rc = match.groups()
    return int(major), int(minor), int(patch or 0), int(rc or 0)


def _order(version: Version) -> tuple[int, int, int, int]:
    # An -rc sorts before its release: 6.17-rc4 < 6.17 (rc 0 means "released").
    major, minor, patch, rc = version
    return major, minor, patch, rc if rc else 10_000


def upstream_version(
    release: str, *, proc_version: str | None = None, version_signature: str | None = None
) -> tuple[str | None, str]:
    """The upstream version a running kernel is built from, and how it was read.

    Returns (None, why) when the inputs don't tell.
    """
    release = release.strip()
    if not release:
        return None, "no kernel release given"
    notes: list[str] = []
    if version_signature and (match := _SIGNATURE.search(version_signature)):
        found = match.group(1)
        if _same_series(found, release):
            return found, f"upstream version from /proc/version_signature: {found}"
        notes.append(f"/proc/version_signature names {found}, not the series of {release}")
    if proc_version and (match := _DEBIAN.search(proc_version)):
        base, rc = match.groups()
        found = f"{base}-rc{rc}" if rc else base
        if _same_series(found, release):
            return found, f"Debian package version from /proc/version: {found}"
        notes.append(f"/proc/version names Debian {found}, not the series of {release}")
    text, detail = _from_release(release)
    return text, "; ".join([detail, *notes])


def _same_series(version: str, release: str) -> bool:
    """A distribution's version belongs to the running kernel: same major.minor."""
    found, running = parse(version), parse(release)
    return found is not None and running is not None and found[:2] == running[:2]


def _from_release(release: str) -> tuple[str | None, str]:
    if _VENDOR.search(release):
        return None, f"{release} is a vendor kernel with selective backports"
    if _ABI_NAME.match(release):
        return None, (
            f"{release} is a distribution ABI name; its patch level is in /proc/version"
            " (Debian) or /proc/version_signature (Ubuntu), which did not name it"
        )
    if parse(release) is None:
        return None, f"cannot read a version from kernel release {release!r}"
    match = _UPSTREAM.match(release)
    assert match is not None
    return match.group(0), f"upstream version from uname -r: {match.group(0)}"


def _series_of(version: Version) -> str:
    return "mainline" if version[3] else f"{version[0]}.{version[1]}"


def assess(
    release: str, *, proc_version: str | None = None, version_signature: str | None = None
) -> types.KernelAssessment:
    """Check a kernel release (``uname -r``) against the broadcast route cache table.

    ``proc_version`` (contents of /proc/version) and ``version_signature``
    (/proc/version_signature) let distribution kernels be placed; without them an ABI
    name like ``6.1.0-38-amd64`` is `KernelStatus.UNKNOWN`.
    """
    text, detail = upstream_version(
        release, proc_version=proc_version, version_signature=version_signature
    )
    version = parse(text) if text else None
    if text is None or version is None:
        return types.KernelAssessment(
            release=release, version=None, status=types.KernelStatus.UNKNOWN,
            issue=ISSUE, detail=detail,
        )  # fmt: skip
    row = _row_for(version)
    mainline_fix = _mainline_fix()
    if row is None and _order(version) >= _order((*mainline_fix[:3], 0)):
        # Every release after the fix reached mainline has the change and the fix.
        return types.KernelAssessment(
            release=release, version=text, status=types.KernelStatus.FIXED, issue=ISSUE,
            fixed_in=_text(mainline_fix), detail=detail, source=BAD_RANGES[0].source,
        )  # fmt: skip
    if row is None:
        return types.KernelAssessment(
            release=release, version=text, status=types.KernelStatus.NOT_AFFECTED,
            issue=ISSUE, detail=detail,
        )  # fmt: skip
    fixed = parse(row.fixed) if row.fixed else None
    if fixed is not None and _order(version) >= _order(fixed):
        status = types.KernelStatus.FIXED
    else:
        status = types.KernelStatus.AFFECTED
        # Some distributions patched affected releases without a version bump.
        detail += f"; unless the distribution backported {FIX_COMMIT.split()[0]} itself"
    return types.KernelAssessment(
        release=release,
        version=text,
        status=status,
        issue=ISSUE,
        fixed_in=row.fixed or _next_fixed_release(version),
        detail=detail,
        source=row.source,
    )


def _row_for(version: Version) -> BadRange | None:
    """The row whose bad window contains ``version`` or whose fix it has; else None."""
    series = _series_of(version)
    for row in BAD_RANGES:
        if row.series != series:
            continue
        first = parse(row.first_bad)
        assert first is not None
        return row if _order(version) >= _order(first) else None
    return None


def _mainline_fix() -> Version:
    row = next(r for r in BAD_RANGES if r.series == "mainline")
    fixed = parse(row.fixed or "")
    assert fixed is not None
    return fixed


def _text(version: Version) -> str:
    major, minor, patch, rc = version
    base = f"{major}.{minor}.{patch}" if patch or not rc else f"{major}.{minor}"
    return f"{base}-rc{rc}" if rc else base


def _next_fixed_release(version: Version) -> str:
    """For a series that ended unfixed: the fixed release of the next newer series."""
    candidates = [
        fixed
        for row in BAD_RANGES
        if row.series != "mainline" and row.fixed and (fixed := parse(row.fixed)) is not None
        and fixed[:2] > version[:2]
    ]  # fmt: skip
    if not candidates:
        return _text(_mainline_fix())
    return _text(min(candidates, key=_order))


def assess_running(*, proc: pathlib.Path = pathlib.Path("/proc")) -> types.KernelAssessment:
    """Assess the kernel this process runs on (the node's: namespaces share the kernel)."""
    return assess(
        os.uname().release,
        proc_version=_read(proc / "version"),
        version_signature=_read(proc / "version_signature"),
    )


def _read(path: pathlib.Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
