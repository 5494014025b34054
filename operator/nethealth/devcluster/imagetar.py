"""Container images as `docker save` tarballs, written without a container engine.

The test cluster has no registry and nothing is ever pulled: every image is
built here and handed to containerd with ``ctr -n k8s.io images import``. That
command understands the archive ``docker save`` writes: a ``manifest.json``
naming the image config and the layer tarballs, the config itself (a JSON file
named after its digest), the layers, and a legacy ``repositories`` file.

Everything written here is deterministic: entries sorted by name, fixed
mtimes, no user or group names, gzip without a timestamp. The same inputs give
the same bytes, so image IDs and cache keys stay stable across builds and
machines.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import pathlib
import stat
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Protocol, TypedDict

# Any fixed value would do; 0 keeps tools from showing a plausible-looking but
# meaningless date.
EPOCH = 0
CREATED = "1970-01-01T00:00:00Z"

# Level 6 is gzip's own default: within a few percent of 9's size, much faster.
GZIP_LEVEL = 6


@dataclasses.dataclass(frozen=True, kw_only=True)
class Layer:
    """One gzip-compressed layer tarball and the two digests an image needs of it."""

    path: pathlib.Path
    digest: str  # sha256 of the compressed bytes, as stored in the archive
    diff_id: str  # sha256 of the uncompressed tar, as named in the image config
    size: int  # compressed bytes
    unpacked_size: int  # bytes of the files' contents in the tar


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageConfig:
    """The parts of an OCI/Docker image config that decide how a container starts."""

    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    user: str = ""
    working_dir: str = "/"
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


class _RuntimeConfig(TypedDict):
    Entrypoint: list[str] | None
    Cmd: list[str] | None
    Env: list[str]
    User: str
    WorkingDir: str
    Labels: dict[str, str]


class _RootFS(TypedDict):
    type: str
    diff_ids: list[str]


class _History(TypedDict):
    created: str
    created_by: str


class RawImageConfig(TypedDict):
    """The image config JSON as written into the archive."""

    architecture: str
    os: str
    created: str
    config: _RuntimeConfig
    rootfs: _RootFS
    history: list[_History]


class RawManifestEntry(TypedDict):
    """One entry of ``manifest.json`` in a ``docker save`` archive."""

    Config: str
    RepoTags: list[str]
    Layers: list[str]


class _Sink(Protocol):
    def write(self, data: memoryview, /) -> object: ...


class _HashingWriter(io.RawIOBase):
    """Passes bytes through to a file while hashing and counting them."""

    def __init__(self, target: _Sink) -> None:
        super().__init__()
        self._target = target
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._target.write(view)
        self.sha256.update(view)
        self.count += len(view)
        return len(view)


def _walk_sorted(root: pathlib.Path) -> Iterator[pathlib.Path]:
    """Every path under root (not root itself), parents before children, names sorted."""
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        path = pathlib.Path(entry.path)
        yield path
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_sorted(path)


def _normalise(info: tarfile.TarInfo, *, root_owned: bool) -> tarfile.TarInfo:
    info.mtime = EPOCH
    info.uname = ""
    info.gname = ""
    if root_owned:
        info.uid = 0
        info.gid = 0
    return info


def _write_tar(
    *,
    source: pathlib.Path,
    target: IO[bytes] | io.RawIOBase,
    root_owned: bool,
    skip: frozenset[str],
) -> int:
    """Tar the tree under source into target; returns the total size of file contents."""
    unpacked = 0
    with tarfile.open(fileobj=target, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path in _walk_sorted(source):
            arcname = path.relative_to(source).as_posix()
            if any(arcname == s or arcname.startswith(s + "/") for s in skip):
                continue
            mode = path.lstat().st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
                # Device nodes belong to the runtime's /dev, never to an image.
                continue
            info = _normalise(tar.gettarinfo(str(path), arcname), root_owned=root_owned)
            if info.isreg():
                unpacked += info.size
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return unpacked


def write_layer(
    *,
    source: pathlib.Path,
    target: pathlib.Path,
    root_owned: bool = False,
    skip: frozenset[str] = frozenset(),
) -> Layer:
    """Write the tree under ``source`` as a gzip layer tarball at ``target``.

    ``root_owned`` records every file as owned by root (for trees assembled by
    a tool running as some other user, or whose owners don't matter); otherwise
    the owners on disk are kept, as a Debian rootfs needs. ``skip`` lists paths
    relative to source (and everything below them) to leave out.
    """
    with target.open("wb") as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=EPOCH
        ) as gz:
            uncompressed = _HashingWriter(gz)
            unpacked = _write_tar(
                source=source, target=uncompressed, root_owned=root_owned, skip=skip
            )
    return Layer(
        path=target,
        digest="sha256:" + compressed.sha256.hexdigest(),
        diff_id="sha256:" + uncompressed.sha256.hexdigest(),
        size=compressed.count,
        unpacked_size=unpacked,
    )


def image_config(*, config: ImageConfig, layers: Sequence[Layer]) -> RawImageConfig:
    """The image config JSON for these layers, bottom layer first."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Entrypoint": list(config.entrypoint) or None,
            "Cmd": list(config.cmd) or None,
            "Env": list(config.env),
            "User": config.user,
            "WorkingDir": config.working_dir,
            "Labels": dict(sorted(config.labels.items())),
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": CREATED, "created_by": "nethealth imagetar"} for _ in layers],
    }


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _add_bytes(tar: tarfile.TarFile, *, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, *, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mtime = EPOCH
    info.mode = 0o755
    tar.addfile(info)


def _split_ref(ref: str) -> tuple[str, str]:
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag or not name:
        raise ValueError(f"image ref {ref!r} must be NAME:TAG, e.g. localhost/nethealth/pause:1")
    return name, tag


def write_archive(
    *, ref: str, config: ImageConfig, layers: Sequence[Layer], target: pathlib.Path
) -> str:
    """Write a ``docker save`` archive of one image tagged ``ref``; returns the image ID.

    The image ID is the digest of the config JSON, as Docker and containerd
    compute it.
    """
    name, tag = _split_ref(ref)
    config_bytes = _json_bytes(image_config(config=config, layers=layers))
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    layer_names = [f"{layer.digest.removeprefix('sha256:')}/layer.tar" for layer in layers]
    manifest: list[RawManifestEntry] = [
        {"Config": f"{config_hex}.json", "RepoTags": [ref], "Layers": layer_names}
    ]
    top_layer_id = layer_names[-1].split("/")[0] if layer_names else config_hex
    repositories = {name: {tag: top_layer_id}}
    with tarfile.open(target, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, name=f"{config_hex}.json", data=config_bytes)
        # A layer used twice (e.g. an empty one) is stored once.
        unique = dict(zip(layer_names, layers, strict=True))
        for layer_name, layer in sorted(unique.items()):
            _add_dir(tar, name=layer_name.split("/")[0])
            info = tarfile.TarInfo(layer_name)
            info.size = layer.path.stat().st_size
            info.mtime = EPOCH
            info.mode = 0o644
            with layer.path.open("rb") as f:
                tar.addfile(info, f)
        _add_bytes(tar, name="manifest.json", data=_json_bytes(manifest))
        _add_bytes(tar, name="repositories", data=_json_bytes(repositories))
    return "sha256:" + config_hex
