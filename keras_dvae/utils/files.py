"""Atomic file writes: a kill at any moment leaves the old file or the new one."""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success renames it to `path`.

    The temporary name keeps the suffix (Keras picks the format from
    `.weights.h5`); on an exception `path` is left as it was.

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
    handle, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    os.close(handle)
    # mkstemp makes the file private (0600); give it the mode open() would.
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_json(path, payload):
    """Writes `payload` as indented JSON to `path`, atomically (NumPy
    scalars become floats)."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=2, default=float)
        f.write("\n")


def write_text(path, text):
    """Writes the string `text` to `path`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)
