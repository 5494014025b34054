#!/usr/bin/env bash
# Installs what a fresh machine lacks: Debian packages for the node, the Python venv with
# the project, the kubenode binary (Go build, cached) and the local images (cached).
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(containerd runc containernetworking-plugins busybox-static iptables ipset
              debootstrap conntrack iproute2 gcc libc6-dev binutils util-linux
              linux-source-6.1 qemu-system-x86 flex bison bc libelf-dev make patch xz-utils
              lua5.1 prometheus redis-server git)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian enables and starts containerd on install; the harness runs its own instance.
if systemctl is-active --quiet containerd 2>/dev/null; then systemctl stop containerd || true; fi
# prometheus: only its binaries are wanted (promtool for the alert tests, prometheus for the
# e2e, which runs its own on a free port); Debian starts a server on :9090 on install.
if systemctl is-active --quiet prometheus 2>/dev/null; then systemctl stop prometheus || true; fi
# redis-server and git: for the Argo CD e2e tier, which runs its own redis on a free port.
if systemctl is-active --quiet redis-server 2>/dev/null; then systemctl stop redis-server || true; fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,lint,cluster]'

if [ "${1:-}" != "--no-cluster" ]; then
  # Cached by their inputs: a cold machine pays ~4.5 min (kubenode), ~1 min (images)
  # and ~6.5 min (two kernels); a warm one a fraction of a second each.
  .venv/bin/nethealth cluster build
  .venv/bin/python -m nethealth.kernelrepro build
fi
