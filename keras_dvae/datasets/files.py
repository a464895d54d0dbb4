"""Finding a dataset's files: search directories, checks, download, conversion.

The search list is `data_dir`, `$KERAS_DVAE_DATA`, then the cache
(`cache_dir`). `fetch` tries the offline copy (the `.npz` files of
`shared/data/README.md`), then a copy converted earlier, then the canonical
source files, found or downloaded into the cache and converted once.

An offline copy is checked against its documented size and, the first time
each version of it is used, its sha256 (`check`; the digests are kept in
`cache_dir()/sha256.json`, keyed by path, size and modification time, so an
unchanged file is hashed once). The loaders then check the arrays' shapes
against the dataset's documented facts (`check_shapes`).
"""

import dataclasses
import hashlib
import json
import os
import pathlib

import keras
import numpy as np

from keras_dvae.utils.files import atomic_path

ENV_VAR = "KERAS_DVAE_DATA"

# Size in bytes and sha256 of each offline copy (shared/data/README.md);
# `mnist.npz`'s second entry is the file Keras downloads.
KNOWN_FILES = {
    "mnist_static.npz": [
        (2_327_083, "bd592ef145ff12868ce21089cb9ff1a128b435276382606c0c9d9ac1cf2986e2")
    ],
    "mnist.npz": [
        (
            11_490_519,
            "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
        ),
        (
            11_490_434,
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        ),
    ],
    "caltech101_silhouettes.npz": [
        (405_222, "0f060916ce985fd9be887505913c287302314753554ba3fc5598ff11c16351a9")
    ],
    "omniglot_raw.npz": [
        (5_317_821, "313df08b1d59b9bf83a8092e48fdd5aefe8afe576f6b354c4a663393dfc9867f")
    ],
    "cifar10_jpeg_train_0.npz": [
        (27_567_505, "a1f581201ecf982b21a2095c9b08c3c31299aea868122df56d9c909a23b3b86e")
    ],
    "cifar10_jpeg_train_1.npz": [
        (28_263_731, "9f8ac698f207388fb4815f3997928e95d9f48081506b4d6a2443e55d216df6e6")
    ],
    "cifar10_jpeg_train_2.npz": [
        (28_836_912, "d3c5d6fb3ff1daad61f256a22a5f054a84662dc8bfa4d11aa3021ff47bc138b6")
    ],
    "cifar10_jpeg_train_3.npz": [
        (29_000_180, "ef726c35619ace960da74c18dacecc198bbe2dc36118aee2da4349f415d4d862")
    ],
    "cifar10_jpeg_train_4.npz": [
        (28_425_904, "371fa440813025bfcfcd183d12e190d1a75d8b7afba85a74d3e9f8847f5220f2")
    ],
    "cifar10_jpeg_test.npz": [
        (28_408_439, "71a0fd60be7423382553b17928767cde090b13d9a047fadec7f38838dbb6b208")
    ],
    "cifar10_lossless_first4000.npz": [
        (11_340_286, "c3b8e79f8cd64693a121ad31ca41ff65846c4e81be871eb33ab85baaa7bba54c")
    ],
}


@dataclasses.dataclass(frozen=True)
class Remote:
    """A canonical source file: local name, URL, and a sha256 or md5 hex
    digest (as `keras.utils.get_file` takes it), or `None` where none is
    published."""

    fname: str
    origin: str
    file_hash: str | None = None


@dataclasses.dataclass(frozen=True)
class Found:
    """What `fetch` found: `kind` is "offline", "converted" or "source"."""

    kind: str
    paths: dict

    @property
    def path(self):
        """The path of a set stored in one file."""
        (path,) = self.paths.values()
        return path


def cache_dir():
    """`$KERAS_HOME/keras_dvae/datasets` (default `~/.keras/...`), read now."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    return pathlib.Path(home) / "keras_dvae" / "datasets"


def search_dirs(data_dir=None):
    """The search list as (label, directory or None when not set) pairs."""
    env = os.environ.get(ENV_VAR) or None
    return [
        ("data_dir argument", None if data_dir is None else os.fspath(data_dir)),
        (f"${ENV_VAR}", env),
        ("cache", os.fspath(cache_dir())),
    ]


def find(fname, data_dir=None):
    """The first `dir/fname` that exists in the search list, or `None`."""
    for _, directory in search_dirs(data_dir):
        if directory is None:
            continue
        path = pathlib.Path(directory).expanduser() / fname
        if path.is_file():
            return path
    return None


#: The file of remembered checksums, in `cache_dir()`.
VERIFIED_FILE = "sha256.json"
# Checksums found in this process, by (path, size, mtime): the cache file
# may be unwritable.
_DIGESTS = {}


def check_verify(verify):
    """Raises unless `verify` is None, True or False."""
    if not (verify is None or isinstance(verify, bool)):
        raise ValueError(
            f"`verify` must be None, True or False. Received: verify={verify!r}"
        )


def check(path, verify=None):
    """Checks an offline copy against its documented size and checksum.

    Args:
        path: the file; names not in `KNOWN_FILES` are not checked.
        verify: `None` compares the size, and the sha256 the first time
            this version of the file (its path, size and modification
            time) is used: the result is remembered in `cache_dir()`, so
            an unchanged file is never hashed again. `True` compares the
            sha256 now; `False` skips both.

    Raises:
        ValueError: the file differs from every documented version.
    """
    check_verify(verify)
    path = pathlib.Path(path)
    known = KNOWN_FILES.get(path.name)
    if verify is False or known is None:
        return
    size = path.stat().st_size
    sizes = [documented for documented, _ in known]
    if verify is None and size not in sizes:  # cheaper than any hash
        _refuse(path, "size in bytes", size, sizes)
    digest = _sha256(path) if verify else _remembered_sha256(path)
    digests = [documented for _, documented in known]
    if digest not in digests:
        _refuse(path, "sha256", digest, digests)


def _refuse(path, what, actual, documented):
    raise ValueError(
        f"The {what} of {path} is {actual}; the documented file {path.name!r} "
        f"has {' or '.join(map(str, documented))}. It is damaged, truncated or "
        "another version: replace it, or pass verify=False to load it anyway."
    )


def _sha256(path):
    """The sha256 of a file (read in 1 MiB blocks); remembers it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest = digest.hexdigest()
    _remember(path, digest)
    return digest


def _version(path):
    """(resolved path, size, mtime in ns): a file version's key."""
    stat = os.stat(path)
    return os.fspath(pathlib.Path(path).resolve()), stat.st_size, stat.st_mtime_ns


def _read_verified():
    try:
        with open(cache_dir() / VERIFIED_FILE) as f:
            entries = json.load(f)
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _remembered_sha256(path):
    """The sha256 of `path`, hashed only if this version of it was not before."""
    key = _version(path)
    if key in _DIGESTS:
        return _DIGESTS[key]
    entry = _read_verified().get(key[0])
    if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
        if (entry.get("size"), entry.get("mtime_ns")) == key[1:]:
            _DIGESTS[key] = entry["sha256"]
            return entry["sha256"]
    return _sha256(path)


def _remember(path, digest):
    """Records `digest` for this version of `path`, in this process and in
    `cache_dir()/sha256.json` (atomically; an unwritable cache is skipped)."""
    key = _version(path)
    _DIGESTS[key] = digest
    entries = _read_verified()
    entries[key[0]] = {"size": key[1], "mtime_ns": key[2], "sha256": digest}
    try:
        with atomic_path(cache_dir() / VERIFIED_FILE) as tmp:
            with open(tmp, "w") as f:
                json.dump(entries, f, indent=1, sort_keys=True)
    except OSError:
        pass  # a read-only home: this process still remembers


def check_shapes(path, shapes, expected, verify=None):
    """Checks the shapes of arrays read from `path` against their dataset's
    documented facts (the shape of an example, the rows of each split).

    Args:
        path: the file the arrays came from, for the message.
        shapes: {array name: its shape}.
        expected: {array name: documented shape}, the same names.
        verify: `False` checks only the shape of an example (what the
            `Dataset`'s `image_shape` relies on), not the number of rows.

    Raises:
        ValueError: an array of another shape, naming the file, the array,
            the documented and the found shapes.
    """
    for name, shape in expected.items():
        found = tuple(int(v) for v in shapes[name])
        shape = tuple(shape)
        same = found[1:] == shape[1:] if verify is False else found == shape
        if not same:
            rows = found[1:] == shape[1:]
            bypass = ", or pass verify=False to load it anyway" if rows else ""
            raise ValueError(
                f"{path}: `{name}` has shape {found}; the documented dataset has "
                f"{shape}. The file is truncated, reshaped or another version: "
                f"replace it{bypass}."
            )


def unpack_bits(packed, shape, source=None):
    """Bit-packed uint8 rows (`np.packbits(x, axis=-1)`) → uint8 0/1 `(n, d)`,
    checking `shape`; d need not be a multiple of 8. `source` (e.g. the
    file and array) starts the error message."""
    n, d = (int(v) for v in shape)
    if packed.shape != (n, (d + 7) // 8):
        raise ValueError(
            f"{f'{source}: ' if source else ''}Packed bits of shape "
            f"{packed.shape} do not hold a {n}x{d} matrix."
        )
    return np.unpackbits(packed, axis=-1, count=d)


def _download(remote):
    """`keras.utils.get_file` into the cache; returns the local path."""
    path = keras.utils.get_file(
        fname=remote.fname,
        origin=remote.origin,
        file_hash=remote.file_hash,
        cache_dir=os.fspath(cache_dir().parent.parent),
        cache_subdir=os.path.join(cache_dir().parent.name, cache_dir().name),
    )
    return pathlib.Path(path)


def fetch(
    dataset,
    offline,
    data_dir=None,
    download=True,
    verify=None,
    remotes=(),
    convert=None,
    hint="",
):
    """Finds (or downloads and converts) the files of one dataset.

    Args:
        dataset: name of the dataset, for messages.
        offline: names of the offline-copy files, all needed (may be empty).
        data_dir: first directory to search, or `None`.
        download: allow downloading the `remotes` when nothing is found.
        verify: see `check`; applies to the offline copy (the loaders
            also pass it to `check_shapes`).
        remotes: `Remote` canonical source files, all needed.
        convert: `convert(source_paths, out_path)` writes an `.npz` in the
            offline layout, cached as `<offline stem>_converted.npz`; `None`
            when the sources are read directly.
        hint: extra sentence for the error message.

    Returns:
        A `Found` of kind "offline", "converted" or (without `convert`)
        "source", with its paths by file name.

    Raises:
        FileNotFoundError: nothing found and nothing downloaded; the message
            names the files, the directories, the URLs and the fix.
    """
    found = {fname: find(fname, data_dir) for fname in offline}
    if offline and all(found.values()):
        for path in found.values():
            check(path, verify)
        return Found("offline", found)
    if convert is not None:
        converted = f"{pathlib.Path(offline[0]).stem}_converted.npz"
        path = find(converted, data_dir)
        if path is not None:
            return Found("converted", {converted: path})

    sources = {r.fname: find(r.fname, data_dir) for r in remotes}
    tried, failure = [], None
    if remotes and download:
        for remote in remotes:
            if sources[remote.fname] is not None:
                continue
            tried.append(remote.origin)
            try:
                sources[remote.fname] = _download(remote)
            except Exception as error:  # offline, HTTP error, bad checksum
                failure = f"{type(error).__name__}: {error}"
                break
    if remotes and all(sources.values()):
        if convert is None:
            return Found("source", sources)
        path = cache_dir() / converted
        # An interrupted conversion must leave no truncated file behind.
        with atomic_path(path) as tmp:
            convert(sources, tmp)
        return Found("converted", {converted: path})

    raise FileNotFoundError(
        _missing_message(
            dataset, found, sources, remotes, data_dir, download, tried, failure, hint
        )
    )


def _missing_message(
    dataset, found, sources, remotes, data_dir, download, tried, failure, hint
):
    lines = [f"Cannot load dataset {dataset!r}: its files were not found."]
    missing = [name for name, path in found.items() if path is None]
    if missing:
        lines.append(f"Needed (offline copy): {', '.join(missing)}.")
    missing_sources = [
        name for name, path in sources.items() if path is None and name not in found
    ]
    if missing_sources:
        lines.append(
            f"{'Or' if missing else 'Needed'} (canonical source files): "
            f"{', '.join(missing_sources)}."
        )
    if remotes:
        lines.append("Canonical origins:")
        lines += [f"  - {r.fname}: {r.origin}" for r in remotes]
    lines.append("Directories searched, in this order:")
    lines += [
        f"  - {label}: {'(not set)' if directory is None else directory}"
        for label, directory in search_dirs(data_dir)
    ]
    if tried:
        lines.append(f"Download tried from {', '.join(tried)}; it failed: {failure}")
    elif sources and not download:
        lines.append("No download was tried (download=False).")
    elif not sources:
        lines.append("These files have no download origin.")
    if hint:
        lines.append(hint)
    lines.append(
        "To fix: put the file(s) in a directory and pass data_dir='...' to "
        f"keras_dvae.datasets.load, or set the {ENV_VAR} environment variable "
        "to that directory (for example a checkout of shared/data)"
        + (
            ", or run once with internet access to download them into the cache."
            if sources
            else "."
        )
    )
    return "\n".join(lines)
