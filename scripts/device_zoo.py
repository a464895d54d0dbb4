"""The zoo's GPU stage on a lent device machine, from staging to commit.

The device tool sends the working tree (tracked and untracked files, and
the `carry` paths) with every call, at most 64 MiB together, and a warm
machine keeps ignored files between calls that follow within its idle
window (30 s). The data (86 MB of 28×28 sets and lossless CIFAR-10, 170 MB
of JPEG CIFAR-10) therefore travels in parts, whole files where they fit
(byte slices otherwise), each checked against its documented sha256 there.

Here, once:

    python scripts/device_zoo.py plan --data-dir ../shared/data [--seconds 360]

writes `.stage/` (ignored): one folder per part and `calls.json`, the
`run` calls in order (command, carry, timeout_s): one call a part, issued
back to back, then the training call, which installs the wheels (`.whl`),
checks every staged file's sha256 (`verify`), runs `scripts/zoo_gpu.sh`
(every preset side by side from its committed state, evaluated on the
whole test set at K = 4000) and brings back one archive a preset folder
(`<name>.tar.gz`; the tool returns at most 8 files of 16 MiB) and
`logs.tar.gz`.

Back here:

    python scripts/device_zoo.py unpack FILES_AT/*.tar.gz

checks each preset folder's manifest and replaces `zoo/<name>` (a new
folder, then a rename: an interrupted unpack leaves the committed preset as
it was). Commit, then `python -m keras_dvae.zoo.train --table`.

There (what the calls run): `receive PART` moves a part into `.data/`
(ignored, kept while the machine stays warm); `verify` joins sliced files
and checks every file against `keras_dvae.datasets.files.KNOWN_FILES`.
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
STAGE = ROOT / ".stage"
DEVICE_DATA = ".data"
WHEELS = ".whl"
LIMIT = 64 * 2**20
MARGIN = 2 * 2**20
# The presets of one GPU stage: DVAE++ Table 3's model on every dataset and
# the straight-through categorical VAE. The fully connected binary presets
# train on the CPU, and `categorical_mnist` is not continued: more steps of
# its relaxed recipe made its discrete model worse (zoo README).
NAMES = (
    "dvaepp_mnist_static",
    "dvaepp_mnist",
    "dvaepp_omniglot",
    "dvaepp_caltech101_silhouettes",
    "dvaepp_cifar10",
    "categorical_st_mnist",
)
DATA = {
    "dvaepp_mnist_static": ("mnist_static.npz",),
    "dvaepp_mnist": ("mnist.npz",),
    "categorical_st_mnist": ("mnist.npz",),
    "dvaepp_omniglot": ("omniglot_raw.npz",),
    "dvaepp_caltech101_silhouettes": ("caltech101_silhouettes.npz",),
    "dvaepp_cifar10": (
        *(f"cifar10_jpeg_train_{s}.npz" for s in range(5)),
        "cifar10_jpeg_test.npz",
        "cifar10_lossless_first4000.npz",
    ),
}
INSTALL = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
    "--upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; "
    "export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false; "
)


def tree_bytes(root=ROOT):
    """Bytes of what every call sends: tracked and untracked-not-ignored files."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    names = [n for n in out.decode().split("\0") if n]
    return sum((root / n).stat().st_size for n in names if (root / n).is_file())


def pack(files, capacity, last_capacity):
    """The files (sorted by name) as one stream cut into parts:
    [[(name, offset, length), ...], ...]. The last part is the stream's
    last `last_capacity` bytes (it travels with the training call); the
    rest is cut every `capacity` bytes: the fewest parts. A file cut between
    parts is joined again by `verify`."""
    total = sum(files.values())
    staged = total - min(last_capacity, total)
    cuts = [*range(0, staged, capacity), staged, total]
    bounds = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    parts, start = [[] for _ in bounds], 0
    for name, size in sorted(files.items()):
        for i, (a, b) in enumerate(bounds):
            lo, hi = max(a, start), min(b, start + size)
            if hi > lo:
                parts[i].append((name, lo - start, hi - lo))
        start += size
    return parts


def _copy_slice(source, target, offset, length):
    with open(source, "rb") as f, open(target, "wb") as g:
        f.seek(offset)
        remaining = length
        while remaining:
            block = f.read(min(remaining, 2**22))
            if not block:
                raise ValueError(f"{source} ended before byte {offset + length}")
            g.write(block)
            remaining -= len(block)


def plan(data_dir, names, seconds, slack):
    data_dir = pathlib.Path(data_dir)
    unknown = sorted(set(names) - set(DATA))
    if unknown:
        raise SystemExit(
            f"--names: no data list for {unknown}; expected names of {sorted(DATA)}"
        )
    wanted = sorted({f for n in names for f in DATA[n]})
    missing = [f for f in wanted if not (data_dir / f).is_file()]
    if missing:
        raise SystemExit(f"--data-dir {data_dir} lacks {missing}")
    if seconds + slack > 600:
        raise SystemExit(
            f"--seconds {seconds} + --slack {slack} must be at most 600 (one call)"
        )
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir()
    tree = tree_bytes()
    wheels = sum(p.stat().st_size for p in (ROOT / WHEELS).glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {ROOT / WHEELS}: download them first")
    capacity = LIMIT - tree - MARGIN
    if capacity - wheels < 2**20:
        raise SystemExit(f"the working tree ({tree / 1e6:.1f} MB) leaves no room")
    sizes = {f: (data_dir / f).stat().st_size for f in wanted}
    parts = pack(sizes, capacity, capacity - wheels)
    calls = []
    for i, part in enumerate(parts):
        folder = STAGE / f"part{i}"
        folder.mkdir()
        for name, offset, length in part:
            whole = length == sizes[name]
            target = folder / (name if whole else f"{name}.slice{offset:012d}")
            _copy_slice(data_dir / name, target, offset, length)
        calls.append(
            {
                "command": f"python3 scripts/device_zoo.py receive part{i}",
                "carry": [f".stage/part{i}"],
                "timeout_s": 120,
                "bytes": tree + sum(length for *_, length in part),
            }
        )
    # The last part rides with the training call.
    last = calls.pop()
    train = (
        INSTALL
        + f"{last['command']} && python3 scripts/device_zoo.py verify || exit; "
        + f"PY=python3 KILL_SLACK={slack} bash scripts/zoo_gpu.sh {DEVICE_DATA} "
        + f"/tmp/zoo_run {seconds} {' '.join(names)}; "
        # One archive a preset (at most 8 files of 16 MiB come back).
        + "cd /tmp/zoo_run && for d in zoo/*/; do tar czf $OUT/$(basename $d).tar.gz "
        + "$d; done; tar czf $OUT/logs.tar.gz logs; ls -l $OUT"
    )
    calls.append(
        {
            "command": train,
            "carry": [*last["carry"], WHEELS],
            "timeout_s": min(600, seconds + slack + 30),
            "bytes": last["bytes"] + wheels,
        }
    )
    for call in calls:
        if len(call["command"]) > 2000:
            raise SystemExit("a call's command is over 2,000 characters")
        if call["bytes"] > LIMIT:
            raise SystemExit(f"a call sends {call['bytes']} bytes, over 64 MiB")
    (STAGE / "calls.json").write_text(json.dumps(calls, indent=2) + "\n")
    print(
        f"tree {tree / 1e6:.1f} MB, wheels {wheels / 1e6:.1f} MB, "
        f"{len(calls) - 1} staging calls of {capacity / 1e6:.1f} MB, then the "
        f"training call with the rest ({seconds} s + {slack} s): "
        f"{STAGE / 'calls.json'}"
    )
    for call in calls:
        print(json.dumps({k: call[k] for k in ("command", "carry", "timeout_s")}))
    return calls


def receive(part):
    source = ROOT / ".stage" / part
    if not source.is_dir():
        raise SystemExit(f"{source} did not travel: carry .stage/{part}")
    target = ROOT / DEVICE_DATA
    target.mkdir(exist_ok=True)
    for path in sorted(source.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")
        shutil.move(path, target / path.name)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**22), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(data_dir):
    """Joins sliced files, then checks every file's size and sha256."""
    from keras_dvae.datasets.files import KNOWN_FILES

    data_dir = pathlib.Path(data_dir)
    slices = {}
    for path in sorted(data_dir.glob("*.slice*")):
        name, _, offset = path.name.rpartition(".slice")
        slices.setdefault(name, []).append((int(offset), path))
    for name, parts in slices.items():
        with open(data_dir / name, "wb") as f:
            for offset, path in sorted(parts):
                if f.tell() != offset:
                    raise SystemExit(f"{name}: a slice before byte {offset} is missing")
                f.write(path.read_bytes())
        for _, path in parts:
            path.unlink()
    bad = []
    for path in sorted(data_dir.glob("*.npz")):
        known = KNOWN_FILES.get(path.name, [])
        entry = (path.stat().st_size, _sha256(path))
        print(f"{path.name}: {'ok' if entry in known else 'MISMATCH'}")
        if entry not in known:
            bad.append(path.name)
    if bad:
        raise SystemExit(f"damaged in transit: {bad}; stage them again")


def unpack(archives, zoo_dir=ROOT / "zoo", logs_dir=ROOT / "outputs" / "device_logs"):
    """Replaces zoo/<name> by each preset folder of the archives, once
    every folder's manifest checks."""
    from keras_dvae import zoo
    from keras_dvae.utils import files

    zoo_dir = pathlib.Path(zoo_dir)
    if isinstance(archives, (str, os.PathLike)):
        archives = [archives]
    with tempfile.TemporaryDirectory(dir=zoo_dir.parent) as tmp:
        for archive in archives:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        if not (pathlib.Path(tmp) / "zoo").is_dir():
            raise SystemExit(f"no preset folder (zoo/<name>) in {list(archives)}")
        folders = sorted(
            p
            for p in (pathlib.Path(tmp) / "zoo").iterdir()
            if (p / "metadata.json").is_file()
        )
        for folder in folders:
            zoo.verify_manifest(folder)
        for folder in folders:
            target = zoo_dir / folder.name
            staged = zoo_dir / f".{folder.name}{files.TEMP_MARK}unpack"
            files.remove_tree(staged)
            shutil.copytree(folder, staged)
            files.replace_folder(staged, target)
            print(f"replaced {target}")
        logs = pathlib.Path(tmp) / "logs"
        if logs.is_dir():
            shutil.copytree(logs, logs_dir, dirs_exist_ok=True)
            print(f"logs in {logs_dir}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="stage the data in parts and write the calls")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--names", nargs="+", default=list(NAMES))
    p.add_argument("--seconds", type=int, default=360, help="training budget")
    p.add_argument(
        "--slack", type=int, default=200, help="probe, evaluation and export, seconds"
    )
    p = sub.add_parser("receive", help="(device) move a staged part into .data/")
    p.add_argument("part")
    p = sub.add_parser("verify", help="(device) join slices, check every sha256")
    p.add_argument("--data-dir", default=str(ROOT / DEVICE_DATA))
    p = sub.add_parser("unpack", help="replace zoo/ folders from the archives")
    p.add_argument("archives", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "plan":
        plan(args.data_dir, args.names, args.seconds, args.slack)
    elif args.command == "receive":
        receive(args.part)
    elif args.command == "verify":
        verify(args.data_dir)
    else:
        unpack(args.archives)


if __name__ == "__main__":
    sys.exit(main())
