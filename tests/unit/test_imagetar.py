"""`docker save` archives written without an engine: what containerd's importer relies on."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pathlib
import tarfile

import pytest

from nethealth.devcluster import imagetar

REF = "localhost/nethealth/example:1"


def _tree(root: pathlib.Path) -> pathlib.Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (root / "bin/tool").chmod(0o755)
    (root / "bin/alias").symlink_to("tool")
    os.link(root / "bin/tool", root / "bin/hardlinked")
    (root / "etc").mkdir()
    (root / "etc/config").write_text("key=value\n")
    (root / "etc/config").chmod(0o600)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    return root


def _layer(tmp_path: pathlib.Path, *, name: str = "layer", **kwargs: object) -> imagetar.Layer:
    source = _tree(tmp_path / f"{name}-src")
    return imagetar.write_layer(source=source, target=tmp_path / f"{name}.tar.gz", **kwargs)  # type: ignore[arg-type]


def _members(path: pathlib.Path) -> dict[str, bytes | None]:
    with tarfile.open(path) as tar:
        return {
            m.name: (tar.extractfile(m).read() if m.isreg() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def _archive(tmp_path: pathlib.Path, *, layers: list[imagetar.Layer]) -> tuple[str, pathlib.Path]:
    config = imagetar.ImageConfig(
        entrypoint=["/bin/tool"], cmd=["--help"], env=("PATH=/bin",), user="65532:65532"
    )
    target = tmp_path / "image.tar"
    image_id = imagetar.write_archive(ref=REF, config=config, layers=layers, target=target)
    return image_id, target


def test_layer_digests_are_of_the_compressed_and_uncompressed_bytes(tmp_path):
    layer = _layer(tmp_path)
    compressed = layer.path.read_bytes()
    assert layer.digest == "sha256:" + hashlib.sha256(compressed).hexdigest()
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(compressed)).hexdigest()
    assert layer.size == len(compressed)


def test_layer_keeps_modes_symlinks_and_hardlinks(tmp_path):
    layer = _layer(tmp_path)
    with tarfile.open(layer.path) as tar:
        members = {m.name: m for m in tar.getmembers()}
    # Of two names for one file the first in name order carries the data.
    assert members["bin/hardlinked"].isreg()
    assert members["bin/hardlinked"].mode & 0o777 == 0o755
    assert members["bin/tool"].islnk()
    assert members["bin/tool"].linkname == "bin/hardlinked"
    assert members["etc/config"].mode & 0o777 == 0o600
    assert members["tmp"].mode & 0o7777 == 0o1777
    assert members["bin/alias"].issym()
    assert members["bin/alias"].linkname == "tool"


def test_layer_lists_parents_before_children_in_name_order(tmp_path):
    layer = _layer(tmp_path)
    with tarfile.open(layer.path) as tar:
        names = tar.getnames()
    assert names == [
        "bin",
        "bin/alias",
        "bin/hardlinked",
        "bin/tool",
        "etc",
        "etc/config",
        "tmp",
    ]


def test_layer_records_no_dates_or_owner_names(tmp_path):
    layer = _layer(tmp_path)
    with tarfile.open(layer.path) as tar:
        members = tar.getmembers()
    assert {m.mtime for m in members} == {imagetar.EPOCH}
    assert {m.uname for m in members} == {""}


def test_root_owned_layer_records_every_file_as_root(tmp_path):
    layer = _layer(tmp_path, root_owned=True)
    with tarfile.open(layer.path) as tar:
        assert {(m.uid, m.gid) for m in tar.getmembers()} == {(0, 0)}


def test_skipped_paths_and_everything_below_them_are_left_out(tmp_path):
    layer = _layer(tmp_path, skip=frozenset({"etc"}))
    with tarfile.open(layer.path) as tar:
        names = tar.getnames()
    assert "etc" not in names
    assert "etc/config" not in names
    assert "bin/tool" in names


def test_unpacked_size_counts_file_contents_once_per_hardlinked_file(tmp_path):
    layer = _layer(tmp_path)
    tool = len(b"#!/bin/sh\necho tool\n")
    assert layer.unpacked_size == tool + len("key=value\n")


def test_same_tree_gives_the_same_bytes_whatever_the_file_dates(tmp_path):
    first = _layer(tmp_path, name="first")
    second_source = _tree(tmp_path / "second-src")
    for path in second_source.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000), follow_symlinks=False)
    second = imagetar.write_layer(source=second_source, target=tmp_path / "second.tar.gz")
    assert first.path.read_bytes() == second.path.read_bytes()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first_id, first_archive = _archive(tmp_path / "a", layers=[first])
    second_id, second_archive = _archive(tmp_path / "b", layers=[second])
    assert first_id == second_id
    assert first_archive.read_bytes() == second_archive.read_bytes()


def test_archive_manifest_tags_the_image_and_names_its_config_and_layers(tmp_path):
    layer = _layer(tmp_path)
    image_id, archive = _archive(tmp_path, layers=[layer])
    members = _members(archive)
    manifest = json.loads(members["manifest.json"])  # type: ignore[arg-type]
    assert len(manifest) == 1
    [entry] = manifest
    assert entry["RepoTags"] == [REF]
    assert entry["Config"] == image_id.removeprefix("sha256:") + ".json"
    assert members[entry["Layers"][0]] == layer.path.read_bytes()
    repositories = json.loads(members["repositories"])  # type: ignore[arg-type]
    assert list(repositories) == ["localhost/nethealth/example"]
    assert list(repositories["localhost/nethealth/example"]) == ["1"]


def test_image_id_is_the_digest_of_the_config_it_names(tmp_path):
    image_id, archive = _archive(tmp_path, layers=[_layer(tmp_path)])
    members = _members(archive)
    config_bytes = members[image_id.removeprefix("sha256:") + ".json"]
    assert config_bytes is not None
    assert image_id == "sha256:" + hashlib.sha256(config_bytes).hexdigest()


def test_config_carries_the_start_settings_and_the_layers_diff_ids_in_order(tmp_path):
    bottom = _layer(tmp_path, name="bottom")
    (tmp_path / "top-src").mkdir()
    (tmp_path / "top-src/extra").write_text("extra\n")
    top = imagetar.write_layer(source=tmp_path / "top-src", target=tmp_path / "top.tar.gz")
    image_id, archive = _archive(tmp_path, layers=[bottom, top])
    config = json.loads(_members(archive)[image_id.removeprefix("sha256:") + ".json"])  # type: ignore[arg-type]
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    assert config["config"]["Cmd"] == ["--help"]
    assert config["config"]["Env"] == ["PATH=/bin"]
    assert config["config"]["User"] == "65532:65532"
    assert config["config"]["WorkingDir"] == "/"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [bottom.diff_id, top.diff_id]}
    assert (config["os"], config["architecture"]) == ("linux", "amd64")


def test_a_layer_used_twice_is_stored_once(tmp_path):
    layer = _layer(tmp_path)
    _, archive = _archive(tmp_path, layers=[layer, layer])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names.count(layer.digest.removeprefix("sha256:") + "/layer.tar") == 1


@pytest.mark.parametrize("ref", ["no-tag", "localhost:5000/name", ":tag"])
def test_a_ref_without_name_and_tag_is_refused_naming_it(tmp_path, ref):
    with pytest.raises(ValueError, match=f"image ref '{ref}' must be NAME:TAG"):
        imagetar.write_archive(
            ref=ref, config=imagetar.ImageConfig(), layers=[], target=tmp_path / "x.tar"
        )


def test_gzip_header_carries_no_timestamp_or_file_name(tmp_path):
    header = _layer(tmp_path).path.read_bytes()[:10]
    flags, mtime = header[3], header[4:8]
    assert flags & 0x08 == 0  # FNAME
    assert mtime == b"\0\0\0\0"


def test_layer_tar_is_readable_as_a_stream(tmp_path):
    # containerd reads layers front to back; a member written after its data
    # would be a format error there, not here, so check the stream reader too.
    layer = _layer(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(layer.path.read_bytes()), mode="r|gz") as tar:
        assert sum(1 for _ in tar) == 7
