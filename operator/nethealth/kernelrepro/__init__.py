"""Reproduce the IPv4 broadcast-route-cache kernel regression in a VM, for real.

The machines the project is tested on run a kernel that has the fix, so the probe's
ordinary tests can only inject faults that look like the bug. This package closes the
gap: it builds Debian's kernel source with the regression put back (a one-line patch of
the project's own, ``kernelrepro/broadcast-route-cache.patch``) and the same source
without it as the control, boots each under qemu with the host's filesystem shared
read-only, and runs a scenario inside that triggers the bug the way Home Assistant's
SSDP does and diagnoses it with the real ``nethealth probe``.

Modules, one concern each: `assets` (the checked-in patch, config fragment and init),
`source` (the Debian source tarball), `kernel` (configure and build, cached),
`initramfs` (a busybox initramfs), `vm` (boot qemu, bounded, always cleaned up).
"""
