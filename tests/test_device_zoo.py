"""scripts/device_zoo.py: the data cut into the fewest parts that fit a
call, joined byte for byte; the archive's presets replace zoo/ folders only
once every manifest checks."""

import hashlib
import importlib.util
import pathlib
import shutil
import tarfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "device_zoo", ROOT / "scripts" / "device_zoo.py"
)
device_zoo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device_zoo)


@pytest.mark.parametrize(
    "sizes, capacity, last",
    [
        ({"a": 10, "b": 25, "c": 3}, 12, 7),
        ({"a": 5}, 100, 100),
        ({"a": 29, "b": 28, "c": 11, "d": 1}, 38, 35),
        ({"a": 40, "b": 40}, 38, 2),
    ],
)
def test_pack_cuts_the_fewest_parts_and_covers_every_byte(sizes, capacity, last):
    parts = device_zoo.pack(sizes, capacity, last)
    total = sum(sizes.values())
    # The fewest parts: all full but the last, which rides with training.
    assert len(parts) == 1 + max(0, -(-(total - last) // capacity))
    lengths = [sum(n for *_, n in part) for part in parts]
    assert lengths[-1] == min(last, total) and sum(lengths) == total
    assert all(0 < n <= capacity for n in lengths[:-1])
    # Each file's slices tile it exactly, in order.
    for name, size in sizes.items():
        pieces = sorted((o, n) for part in parts for f, o, n in part if f == name)
        ends = [0] + [o + n for o, n in pieces]
        assert [o for o, _ in pieces] == ends[:-1] and ends[-1] == size


def test_slices_are_joined_and_checked_against_the_known_digests(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    source = tmp_path / "source"
    source.mkdir()
    blobs = {"x.npz": rng.bytes(1000), "y.npz": rng.bytes(300)}
    for name, blob in blobs.items():
        (source / name).write_bytes(blob)
    known = {
        name: [(len(blob), hashlib.sha256(blob).hexdigest())]
        for name, blob in blobs.items()
    }
    from keras_dvae.datasets import files

    monkeypatch.setattr(files, "KNOWN_FILES", known)
    data = tmp_path / "data"
    data.mkdir()
    for part in device_zoo.pack({n: len(b) for n, b in blobs.items()}, 400, 400):
        for name, offset, length in part:
            target = data / (
                name if length == len(blobs[name]) else f"{name}.slice{offset:012d}"
            )
            device_zoo._copy_slice(source / name, target, offset, length)
    assert len(list(data.glob("*.slice*"))) >= 3
    device_zoo.verify(data)
    assert sorted(p.name for p in data.iterdir()) == ["x.npz", "y.npz"]
    for name, blob in blobs.items():
        assert (data / name).read_bytes() == blob
    # A damaged file is named, and the call fails.
    (data / "y.npz").write_bytes(b"0" + blobs["y.npz"][1:])
    with pytest.raises(SystemExit, match="y.npz"):
        device_zoo.verify(data)


def test_unpack_replaces_a_folder_only_when_every_manifest_checks(tmp_path):
    preset = "bernoulli_joint_1nl_mnist_static"
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(ROOT / "zoo" / preset, zoo_dir / preset)
    (zoo_dir / preset / "marker").write_text("old")
    run = tmp_path / "run"
    shutil.copytree(ROOT / "zoo" / preset, run / "zoo" / preset)
    (run / "logs").mkdir()
    archive, logs = tmp_path / f"{preset}.tar.gz", tmp_path / "logs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(run / "zoo" / preset, f"zoo/{preset}")
    with tarfile.open(logs, "w:gz") as tar:
        tar.add(run / "logs", "logs")
    device_zoo.unpack([archive, logs], zoo_dir, tmp_path / "logs")
    assert not (zoo_dir / preset / "marker").exists()
    assert sorted(p.name for p in zoo_dir.iterdir()) == [preset]
    # An edited metadata.json fails its manifest: nothing is replaced.
    (zoo_dir / preset / "marker").write_text("old")
    metadata = run / "zoo" / preset / "metadata.json"
    metadata.write_text(metadata.read_text().replace("mnist_static", "mnist", 1))
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(run / "zoo" / preset, f"zoo/{preset}")
    with pytest.raises(ValueError, match="sha256"):
        device_zoo.unpack(archive, zoo_dir, tmp_path / "logs")
    assert (zoo_dir / preset / "marker").read_text() == "old"
    with pytest.raises(SystemExit, match="no preset folder"):
        device_zoo.unpack([logs], zoo_dir, tmp_path / "logs")
