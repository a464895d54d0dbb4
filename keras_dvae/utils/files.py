"""Atomic file writes: a kill at any moment leaves the old file or the new one.

Every file keras_dvae writes goes through `atomic_path`: the content goes to
a temporary file in the same folder (named `.NAME.tmp-*`), is flushed to
disk (`fsync`) and renamed over `NAME` (`os.replace`, atomic on POSIX and
Windows), and the folder is synced so the rename survives a power cut.
Folders are removed the same way (`remove_tree`: renamed away, then
deleted), and `remove_temporaries` clears what a killed writer left.

Test hook: `crash_point(name)` kills the process (SIGKILL) at a named point
of a write when `$KERAS_DVAE_CRASH_AT` asks for it; unset, it does nothing.
`tests/test_crash_safety.py` uses it to hit the write path exactly.
"""

import contextlib
import csv
import fnmatch
import hashlib
import json
import math
import numbers
import os
import shutil
import signal
import tempfile
import uuid

#: The environment variable of the `crash_point` test hook.
CRASH_ENV = "KERAS_DVAE_CRASH_AT"
#: What marks a temporary name (`.NAME.tmp-…`), for `remove_temporaries`.
TEMP_MARK = ".tmp-"
#: The key under which `write_json(..., non_finite="null")` notes what it
#: wrote as null: {"metrics.test_ll.mean": "nan", ...}.
NON_FINITE_KEY = "non_finite"
_crash_hits = [0]


def crash_point(name):
    """Test hook: SIGKILLs this process at the write point `name`.

    `$KERAS_DVAE_CRASH_AT` = `PATTERN` or `PATTERN@N` kills the process the
    N-th time (default 1) a point whose name matches the `fnmatch` pattern
    is reached. The points: `write:NAME` (the temporary file of `NAME` is
    complete and synced, `NAME` itself untouched), `wrote:NAME` (`NAME`
    replaced), `remove:NAME` (folder `NAME` renamed away, not yet deleted),
    `replace:NAME` (`replace_folder`: the old `NAME` moved aside, the new
    one not yet in place)
    and the trainer's own (`keras_dvae.training`). Unset: nothing happens.

    Raises:
        ValueError: a malformed `$KERAS_DVAE_CRASH_AT`.
    """
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    pattern, at, count = spec.partition("@")
    if at and not (count.isdigit() and int(count) >= 1):
        raise ValueError(
            f"`${CRASH_ENV}` must be PATTERN or PATTERN@N with an integer "
            f"N >= 1. Received: {CRASH_ENV}={spec!r}"
        )
    if fnmatch.fnmatchcase(name, pattern):
        _crash_hits[0] += 1
        if _crash_hits[0] == (int(count) if at else 1):
            # SIGKILL: no cleanup, no `finally`, exactly like `kill -9`.
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _fsync(path, directory=False):
    """Flushes a file (or, best effort, a folder's entries) to disk."""
    try:
        handle = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except (OSError, AttributeError):
        if directory:  # Windows has no O_DIRECTORY and cannot sync folders.
            return
        raise
    try:
        os.fsync(handle)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success renames it to `path`.

    Write the whole file to the yielded path and close it; on leaving the
    block it is synced to disk and renamed over `path`, and the folder is
    synced. The temporary name keeps the suffix (Keras picks the format
    from `.weights.h5`); on an exception `path` is left as it was and the
    temporary file removed (a kill leaves it: `remove_temporaries`).

    Example:

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("done")
    >>> open(target).read()
    'done'
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = (
        ".weights.h5" if name.endswith(".weights.h5") else os.path.splitext(name)[1]
    )
    handle, tmp = tempfile.mkstemp(
        prefix=f".{name}{TEMP_MARK}", suffix=suffix, dir=folder
    )
    os.close(handle)
    # mkstemp makes the file private (0600); give it the mode open() would.
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    try:
        yield tmp
        _fsync(tmp)
        crash_point(f"write:{name}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync(folder, directory=True)
    crash_point(f"wrote:{name}")


def write_json(path, payload, non_finite="raise"):
    """Writes `payload` as indented, strict JSON to `path`, atomically.

    NumPy scalars become numbers (other unknown objects go through
    `float`, as before). JSON has no NaN or Infinity: Python's `json`
    would write bare `NaN`/`Infinity` tokens, which strict parsers
    (JavaScript, jq, Go, serde) reject, so a non-finite float is, by
    `non_finite`:

    - "raise" (the default: configs, manifests, preset metadata, whose
      readers need every number): refused, naming its key; nothing is
      written.
    - "null": written as `null`, and the dict `payload` gets the key
      `NON_FINITE_KEY` ("non_finite") mapping each such key to "nan",
      "inf" or "-inf" (a record of measurements, such as a run's
      metrics, that should be kept and say what could not be measured).

    Raises:
        ValueError: a non-finite float with non_finite="raise" (or a
            payload that is not a dict with "null"); a bad `non_finite`.
        TypeError: a value that is not JSON serialisable.

    Example:

    >>> import json, os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> write_json(target, {"ll": float("nan")}, non_finite="null")
    >>> json.load(open(target))
    {'ll': None, 'non_finite': {'ll': 'nan'}}
    """
    payload = to_strict_json(payload, non_finite, where=os.fspath(path))
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=2, allow_nan=False)
        f.write("\n")


def to_strict_json(payload, non_finite="raise", where=None):
    """`payload` as plain JSON values (dicts, lists, str, int, float, bool,
    None) with no NaN or Infinity; `non_finite` as in `write_json`.

    Call it before writing anything else that belongs with the file, so a
    refusal leaves nothing half written (`zoo.export` does). `where` (a
    path) goes into the messages.
    """
    if non_finite not in ("raise", "null"):
        raise ValueError(
            "`non_finite` must be 'raise' or 'null'. "
            f"Received: non_finite={non_finite!r}"
        )
    found = {}
    plain = _plain_json(payload, None, non_finite, found, where)
    if not found:
        return plain
    if not isinstance(plain, dict):
        raise ValueError(
            f"Cannot note the non-finite values {found} of a JSON "
            f"{type(plain).__name__} (only a dict gets a {NON_FINITE_KEY!r} "
            f"note){_in(where)}. Received: payload of type {type(payload).__name__}"
        )
    notes = plain.get(NON_FINITE_KEY)
    plain[NON_FINITE_KEY] = {**(notes if isinstance(notes, dict) else {}), **found}
    return plain


def _in(where):
    return f" in {where}" if where else ""


def _plain_json(value, key, non_finite, found, where):
    """`value` with every number a Python int or finite float (see `write_json`)."""
    if isinstance(value, dict):
        return {
            k: _plain_json(
                v, str(k) if key is None else f"{key}.{k}", non_finite, found, where
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _plain_json(v, f"{key or ''}[{i}]", non_finite, found, where)
            for i, v in enumerate(value)
        ]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        number = float(value)  # Python and NumPy floats, NumPy bools, 0-d arrays
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"`{key or 'payload'}` is of type {type(value).__name__}, which is not "
            f"JSON serialisable{_in(where)}."
        ) from e
    if math.isfinite(number):
        return number
    name = key or "payload"
    if non_finite == "raise":
        raise ValueError(
            f"`{name}` is {number}: JSON has no NaN or Infinity, so it is not "
            f"written{_in(where)}. Received: {name}={number}"
        )
    found[name] = str(number)
    return None


def write_text(path, text):
    """Writes the string `text` to `path`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def write_csv(path, rows):
    """Writes a list of dicts as a CSV file to `path`, atomically.

    The columns are the first row's keys in order; a key missing from a
    later row is written as "NA".
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), restval="NA")
            writer.writeheader()
            writer.writerows(rows)


def read_json(path):
    """The JSON value in the file `path`, parsed strictly.

    Raises:
        ValueError: malformed JSON, or a bare `NaN`, `Infinity` or
            `-Infinity` token (not JSON, though Python's `json` reads it).
    """

    def refuse(token):
        raise ValueError(
            f"{token} is not JSON (strict JSON has no NaN or Infinity). "
            f"Received: {token} in {os.fspath(path)}"
        )

    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def sha256(path):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def remove_tree(path):
    """Deletes the folder `path` (if it exists) as one step: it is renamed to
    a temporary name first, so a kill leaves it whole or gone, never half
    deleted (the renamed leftover goes with `remove_temporaries`)."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.isdir(path):
        return
    folder, name = os.path.split(path)
    trash = os.path.join(folder, f".{name}{TEMP_MARK}{uuid.uuid4().hex}")
    os.replace(path, trash)
    _fsync(folder, directory=True)
    crash_point(f"remove:{name}")
    shutil.rmtree(trash, ignore_errors=True)


def replace_folder(source, target):
    """Puts the folder `source` at `target` by renames (one file system).

    A `target` that exists is renamed aside first and deleted last
    (`remove_tree`), so a kill leaves at `target` the old folder or the new
    one, or, between the two renames, neither, the old one kept beside it as
    a temporary (`.NAME.tmp-*`) until `remove_temporaries`.
    """
    source = os.path.abspath(os.fspath(source))
    target = os.path.abspath(os.fspath(target))
    if not os.path.isdir(source):
        raise ValueError(f"`source` must be a folder. Received: source={source!r}")
    folder, name = os.path.split(target)
    old = None
    if os.path.exists(target):
        old = os.path.join(folder, f".{name}{TEMP_MARK}{uuid.uuid4().hex}")
        os.replace(target, old)
    crash_point(f"replace:{name}")
    os.replace(source, target)
    _fsync(folder, directory=True)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def remove_temporaries(folder):
    """Removes the temporary files and folders that killed writers left in
    `folder` (names `.NAME.tmp-*`, see `atomic_path`, `remove_tree`).

    Only for a folder that no other process is writing to.

    Returns:
        The names removed.
    """
    if not os.path.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        if not (name.startswith(".") and TEMP_MARK in name):
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)
        removed.append(name)
    return removed
