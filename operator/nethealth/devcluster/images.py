"""The container images the test cluster runs, built locally and cached.

There is no registry and no container engine on the machines this project is
tested on, and nothing may be pulled. So the images are assembled here from
parts this machine already has or gets from Debian and PyPI:

- ``PAUSE_IMAGE``: the pod sandbox, our own static ``cluster/pause/pause.c``;
- ``WORKLOAD_IMAGE``: Debian's busybox-static, for test applications
  (its ``wget`` crashes in containers — static glibc name lookup — ``nc`` works);
- ``NETHEALTH_IMAGE``: Debian bookworm's Python with the project and its
  dependencies; the entrypoint is the ``nethealth`` command, and the default
  user is unprivileged, as the operator needs (probe Jobs run as root);
- ``COREDNS_IMAGE``: the cluster's DNS, our static build of CoreDNS
  (``corednsbuild``) alone in its layer.

One more, for tests only and not part of ``build_all`` (the node does not need
it to start; the e2e tests that use it import it into the node themselves):

- ``FAKE_PROBE_IMAGE``: the busybox layer again, with a shell script as
  entrypoint that takes the probe's arguments and misbehaves as its first
  target's name says (prints garbage, crashes, fills its disk). It costs no
  layer of its own, only an archive.

Each is a ``docker save`` archive for ``ctr -n k8s.io images import``. Every
layer and archive is cached under a key of its inputs (see ``buildcache``),
so a warm ``build_all`` only hashes a few source files.

Tags are fixed, not content-derived: manifests and containerd's sandbox image
setting can name them as constants. Importing a rebuilt archive moves the tag.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypedDict

import nethealth
from nethealth.devcluster import buildcache, imagetar, pythonlayer, rootfs

PAUSE_IMAGE = "localhost/nethealth/pause:1"
WORKLOAD_IMAGE = "localhost/nethealth/busybox:1"
NETHEALTH_IMAGE = f"localhost/nethealth/nethealth:{nethealth.__version__}"
FAKE_PROBE_IMAGE = "localhost/nethealth/fakeprobe:1"
COREDNS_IMAGE = "localhost/nethealth/coredns:1"

# Bump a recipe's version when its build steps change in a way its inputs don't show.
PAUSE_RECIPE = "pause/1"
WORKLOAD_RECIPE = "busybox/1"
BASE_RECIPE = "debian/2"
DEPS_RECIPE = "deps/2"
APP_RECIPE = "app/1"
COREDNS_RECIPE = "coredns/1"

PAUSE_SOURCE = "cluster/pause/pause.c"
PAUSE_CFLAGS = ("-static", "-O2", "-Wall", "-Wextra", "-Werror")
BUSYBOX_PACKAGE = "busybox-static"
BUSYBOX_BINARY = pathlib.Path("/bin/busybox")

BASE = rootfs.DebianRootfs(suite="bookworm", packages=("python3", "iproute2"))
# The operator's unprivileged user; the number is the one distroless images use.
NONROOT_UID = 65532
NONROOT_ENTRIES = {
    "etc/passwd": (
        f"nethealth:x:{NONROOT_UID}:{NONROOT_UID}:nethealth:/nonexistent:/usr/sbin/nologin\n"
    ),
    "etc/group": f"nethealth:x:{NONROOT_UID}:\n",
}

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageArchive:
    """A built image: its tag and the ``docker save`` archive that carries it."""

    ref: str
    path: pathlib.Path
    image_id: str = ""
    unpacked_size: int = 0  # bytes of file contents once unpacked


class _LayerMeta(TypedDict):
    """``layer.json`` beside a cached layer: its digests, so a warm build reads no tarball."""

    path: str
    digest: str
    diff_id: str
    size: int
    unpacked_size: int


class _ImageMeta(TypedDict):
    """``image.json`` beside a cached archive."""

    ref: str
    image_id: str
    unpacked_size: int


def default_cache_dir() -> pathlib.Path:
    root = os.environ.get("NETHEALTH_CACHE") or "~/.cache/nethealth"
    return pathlib.Path(root).expanduser() / "images"


def project_root() -> pathlib.Path:
    """The source tree this module is part of; the images are built from it."""
    root = pathlib.Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file() or not (root / PAUSE_SOURCE).is_file():
        raise FileNotFoundError(
            f"images are built from the project's source tree, but {root} is not one "
            f"(no pyproject.toml or {PAUSE_SOURCE}); run from a checkout"
        )
    return root


# --- layers ---------------------------------------------------------------


def _cached_layer(
    *,
    cache_dir: pathlib.Path,
    name: str,
    key: str,
    fill: Callable[[pathlib.Path], None],
    root_owned: bool,
) -> imagetar.Layer:
    """The layer ``name``/``key`` from the cache, made from a tree ``fill`` writes if missing."""

    def build(work: pathlib.Path) -> None:
        tree = work / "rootfs"
        tree.mkdir()
        started = time.monotonic()
        logger.info("building layer %s (%s)", name, key)
        fill(tree)
        layer = imagetar.write_layer(
            source=tree, target=work / "layer.tar.gz", root_owned=root_owned
        )
        shutil.rmtree(tree)
        meta: _LayerMeta = {
            "path": layer.path.name,
            "digest": layer.digest,
            "diff_id": layer.diff_id,
            "size": layer.size,
            "unpacked_size": layer.unpacked_size,
        }
        (work / "layer.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        logger.info("built layer %s in %.1f s", name, time.monotonic() - started)

    entry = buildcache.entry(cache_dir=cache_dir / "layers", name=name, key=key, build=build)
    meta: _LayerMeta = json.loads((entry / "layer.json").read_text())
    return imagetar.Layer(
        path=entry / meta["path"],
        digest=meta["digest"],
        diff_id=meta["diff_id"],
        size=meta["size"],
        unpacked_size=meta["unpacked_size"],
    )


def _cached_archive(
    *,
    cache_dir: pathlib.Path,
    name: str,
    ref: str,
    config: imagetar.ImageConfig,
    layers: Sequence[imagetar.Layer],
) -> ImageArchive:
    raw_config = json.dumps(imagetar.image_config(config=config, layers=layers), sort_keys=True)
    key = buildcache.key_of(ref, raw_config, *(layer.digest for layer in layers))

    def build(work: pathlib.Path) -> None:
        image_id = imagetar.write_archive(
            ref=ref, config=config, layers=layers, target=work / "image.tar"
        )
        unpacked = sum(layer.unpacked_size for layer in layers)
        meta: _ImageMeta = {"ref": ref, "image_id": image_id, "unpacked_size": unpacked}
        (work / "image.json").write_text(json.dumps(meta, indent=1, sort_keys=True))

    entry = buildcache.entry(cache_dir=cache_dir / "archives", name=name, key=key, build=build)
    meta: _ImageMeta = json.loads((entry / "image.json").read_text())
    return ImageArchive(
        ref=ref,
        path=entry / "image.tar",
        image_id=meta["image_id"],
        unpacked_size=meta["unpacked_size"],
    )


# --- pause ----------------------------------------------------------------


def build_pause(*, cache_dir: pathlib.Path) -> ImageArchive:
    """The pod sandbox image: one static binary that sleeps and reaps children."""
    source = project_root() / PAUSE_SOURCE
    key = buildcache.key_of(PAUSE_RECIPE, " ".join(PAUSE_CFLAGS), source.read_bytes())

    def fill(tree: pathlib.Path) -> None:
        if shutil.which("gcc") is None:
            raise FileNotFoundError("gcc is not installed (apt-get install gcc libc6-dev)")
        binary = tree / "pause"
        subprocess.run(["gcc", *PAUSE_CFLAGS, "-o", str(binary), str(source)], check=True)
        subprocess.run(["strip", str(binary)], check=True)

    layer = _cached_layer(cache_dir=cache_dir, name="pause", key=key, fill=fill, root_owned=True)
    # The nobody-like uid Kubernetes' own pause image runs as: it needs no privilege.
    config = imagetar.ImageConfig(entrypoint=["/pause"], user="65535:65535", env=())
    return _cached_archive(
        cache_dir=cache_dir, name="pause", ref=PAUSE_IMAGE, config=config, layers=[layer]
    )


# --- workload -------------------------------------------------------------


def busybox_version() -> str:
    """The installed busybox-static package's version, which keys the workload image."""
    try:
        result = subprocess.run(
            ["dpkg-query", "--show", "--showformat=${Version}", BUSYBOX_PACKAGE],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise FileNotFoundError("dpkg-query is missing: the workload image needs Debian") from None
    if result.returncode != 0 or not result.stdout or not BUSYBOX_BINARY.is_file():
        raise FileNotFoundError(
            f"{BUSYBOX_PACKAGE} is not installed (apt-get install {BUSYBOX_PACKAGE})"
        )
    return result.stdout.strip()


def _fill_busybox(tree: pathlib.Path) -> None:
    bin_dir = tree / "bin"
    bin_dir.mkdir()
    shutil.copy2(BUSYBOX_BINARY, bin_dir / "busybox")
    listing = subprocess.run(
        [str(BUSYBOX_BINARY), "--list"], capture_output=True, text=True, check=True
    )
    for applet in sorted(set(listing.stdout.split()) - {"busybox"}):
        (bin_dir / applet).symlink_to("busybox")
    for directory in ("etc", "root", "tmp", "proc", "sys", "dev"):
        (tree / directory).mkdir()
    (tree / "tmp").chmod(0o1777)
    (tree / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (tree / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")


def busybox_layer(*, cache_dir: pathlib.Path) -> imagetar.Layer:
    """Debian's static busybox with every applet linked (the workload and fake probe)."""
    key = buildcache.key_of(WORKLOAD_RECIPE, busybox_version())
    return _cached_layer(
        cache_dir=cache_dir, name="busybox", key=key, fill=_fill_busybox, root_owned=True
    )


def build_workload(*, cache_dir: pathlib.Path) -> ImageArchive:
    """A busybox image for test applications: ``sh``, ``nc``, ``sleep`` and friends."""
    layer = busybox_layer(cache_dir=cache_dir)
    config = imagetar.ImageConfig(entrypoint=(), cmd=["sh"], env=("PATH=/bin",), working_dir="/")
    return _cached_archive(
        cache_dir=cache_dir, name="busybox", ref=WORKLOAD_IMAGE, config=config, layers=[layer]
    )


# --- fake probe (tests only) ----------------------------------------------

# Runs as ``sh -c FAKE_PROBE_SCRIPT fakeprobe ARGS...`` where ARGS are what the operator
# gives the real probe (``probe --pod-uid UID --output json --target NAME=HOST:PORT ...``).
# The first target's NAME picks the misbehaviour, so a check's spec chooses it:
#   garbage  - junk in the termination message, exit 0 (a probe that lost its mind)
#   crash    - a traceback in the termination message, exit 1 (a probe that crashed)
#   fill     - writes 8 MiB to its own disk, then waits (the kubelet evicts it when the
#              check sets a smaller ephemeral-storage limit)
#   anything else - waits until it is stopped, like a probe in mid-measurement
FAKE_PROBE_SCRIPT = r"""
mode=
for arg in "$@"; do
  case $mode in next) mode=${arg%%=*}; break ;; esac
  case $arg in --target) mode=next ;; esac
done
case $mode in
  garbage) printf 'Segmentation fault\n\001{"schema": nonsense' > /dev/termination-log; exit 0 ;;
  crash) printf 'Traceback (most recent call last):\nRuntimeError: fake' > /dev/termination-log
         exit 1 ;;
  fill) dd if=/dev/zero of=/tmp/fill bs=1048576 count=8 2>/dev/null ;;
esac
exec sleep 3600
"""


def build_fake_probe(*, cache_dir: pathlib.Path) -> ImageArchive:
    """A stand-in for the probe that misbehaves on purpose (see ``FAKE_PROBE_SCRIPT``)."""
    config = imagetar.ImageConfig(
        entrypoint=["/bin/sh", "-c", FAKE_PROBE_SCRIPT, "fakeprobe"],
        env=("PATH=/bin",),
        working_dir="/",
    )
    return _cached_archive(
        cache_dir=cache_dir,
        name="fakeprobe",
        ref=FAKE_PROBE_IMAGE,
        config=config,
        layers=[busybox_layer(cache_dir=cache_dir)],
    )


# --- nethealth ------------------------------------------------------------


def _fill_base(tree: pathlib.Path) -> None:
    rootfs.bootstrap(spec=BASE, target=tree, log=tree.parent / "debootstrap.log")
    for relative, line in NONROOT_ENTRIES.items():
        with (tree / relative).open("a") as f:
            f.write(line)


def base_layer(*, cache_dir: pathlib.Path) -> imagetar.Layer:
    """Debian bookworm minbase with Python and iproute2 (for people debugging; not the probe)."""
    key = buildcache.key_of(
        BASE_RECIPE, BASE.suite, BASE.variant, *BASE.packages, *NONROOT_ENTRIES.values()
    )
    # Owners as on disk: a few Debian files belong to system groups.
    return _cached_layer(
        cache_dir=cache_dir, name="debian", key=key, fill=_fill_base, root_owned=False
    )


def deps_layer(*, cache_dir: pathlib.Path, root: pathlib.Path) -> imagetar.Layer:
    """The project's runtime dependencies, as pip resolves ``pyproject.toml``'s list."""
    requirements = pythonlayer.dependencies(root / "pyproject.toml")
    key = buildcache.key_of(DEPS_RECIPE, pythonlayer.PYTHON_VERSION, *requirements)

    def fill(tree: pathlib.Path) -> None:
        pythonlayer.install_dependencies(requirements=requirements, root=tree)

    return _cached_layer(cache_dir=cache_dir, name="deps", key=key, fill=fill, root_owned=True)


def app_layer(*, cache_dir: pathlib.Path, root: pathlib.Path) -> imagetar.Layer:
    """The project itself, from a wheel of the current sources."""
    parts: list[str | bytes] = [APP_RECIPE, pythonlayer.PYTHON_VERSION]
    for relative in pythonlayer.project_sources(root):
        parts += [relative.as_posix(), (root / relative).read_bytes()]
    key = buildcache.key_of(*parts)

    def fill(tree: pathlib.Path) -> None:
        pythonlayer.install_project(project_root=root, root=tree)

    return _cached_layer(cache_dir=cache_dir, name="app", key=key, fill=fill, root_owned=True)


def build_nethealth(*, cache_dir: pathlib.Path) -> ImageArchive:
    """The operator and probe image: ``nethealth`` on Debian's Python 3.11."""
    root = project_root()
    layers = [
        base_layer(cache_dir=cache_dir),
        deps_layer(cache_dir=cache_dir, root=root),
        app_layer(cache_dir=cache_dir, root=root),
    ]
    config = imagetar.ImageConfig(
        entrypoint=[f"/{pythonlayer.SCRIPT_PATH}"],
        cmd=["operator"],
        env=(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            "PYTHONDONTWRITEBYTECODE=1",
            "PYTHONUNBUFFERED=1",
        ),
        user=f"{NONROOT_UID}:{NONROOT_UID}",
        labels={"org.opencontainers.image.version": nethealth.__version__},
    )
    return _cached_archive(
        cache_dir=cache_dir, name="nethealth", ref=NETHEALTH_IMAGE, config=config, layers=layers
    )


# --- coredns --------------------------------------------------------------


def build_coredns(*, cache_dir: pathlib.Path) -> ImageArchive:
    """CoreDNS, static, as the only file of its image."""
    from nethealth.devcluster import corednsbuild  # noqa: PLC0415 - needs Go only when building

    binary = corednsbuild.ensure_coredns().path
    # The binary's cache entry is named by a digest of its inputs.
    key = buildcache.key_of(COREDNS_RECIPE, binary.parent.name)

    def fill(tree: pathlib.Path) -> None:
        shutil.copy2(binary, tree / "coredns")
        (tree / "etc").mkdir()
        (tree / "tmp").mkdir(mode=0o1777)

    layer = _cached_layer(cache_dir=cache_dir, name="coredns", key=key, fill=fill, root_owned=True)
    config = imagetar.ImageConfig(entrypoint=["/coredns"], env=(), working_dir="/")
    return _cached_archive(
        cache_dir=cache_dir, name="coredns", ref=COREDNS_IMAGE, config=config, layers=[layer]
    )


# --- all ------------------------------------------------------------------


class Builder(Protocol):
    def __call__(self, *, cache_dir: pathlib.Path) -> ImageArchive: ...


BUILDERS: dict[str, Builder] = {
    "pause": build_pause,
    "workload": build_workload,
    "nethealth": build_nethealth,
    "coredns": build_coredns,
}


def build_all(*, cache_dir: pathlib.Path | None = None) -> list[ImageArchive]:
    """Build whichever of the images are missing; return them all, pause first."""
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    return [builder(cache_dir=directory) for builder in BUILDERS.values()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nethealth.devcluster.images",
        description="Build the test cluster's container images (cached) and list them.",
    )
    parser.add_argument(
        "--cache-dir",
        type=pathlib.Path,
        default=None,
        help=f"where images and layers are cached (default: {default_cache_dir()})",
    )
    parser.add_argument(
        "--only",
        choices=sorted(BUILDERS),
        action="append",
        help="build only this image (repeatable); default: all",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    cache_dir = args.cache_dir if args.cache_dir is not None else default_cache_dir()
    for name in args.only or list(BUILDERS):
        started = time.monotonic()
        archive = BUILDERS[name](cache_dir=cache_dir)
        elapsed = time.monotonic() - started
        size_mib = archive.path.stat().st_size / 2**20
        print(
            f"{archive.ref}\t{archive.path}\t{size_mib:.1f} MiB compressed\t"
            f"{archive.unpacked_size / 2**20:.1f} MiB unpacked\t{elapsed:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
