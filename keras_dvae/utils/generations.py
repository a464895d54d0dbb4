"""Numbered generations of files in a folder, never overwritten in place.

A generation is a set of files (`epoch-000003.weights.h5`, ...) committed
by its manifest (`epoch-000003.json`), written last: it records every
file's sha256 and size and any metadata. Each file is written atomically
(`files.atomic_path`), and a new generation never touches the files of the
older ones, so a kill at any moment leaves the newest committed generation
whole; the `keep` newest are kept. `newest()` returns the newest generation
whose files all match their manifest, and warns about each newer one it
skips (truncated, edited or deleted files), instead of failing on it.
"""

import json
import os
import re
import warnings

from keras_dvae.utils import files
from keras_dvae.utils.warnings import KerasDVAEWarning


class Generations:
    """The generations of files in `folder` named `PREFIX-NNNNNN`.

    Args:
        folder: the folder (made on the first `save`).
        prefix: the generations' name stem.
        keep: int ≥ 1, how many committed generations `save` keeps.

    Example:

    >>> import pathlib, tempfile
    >>> store = Generations(tempfile.mkdtemp())
    >>> for n in (1, 2, 3):
    ...     store.save(n, {".txt": lambda p, n=n: pathlib.Path(p).write_text(str(n))})
    >>> number, manifest, paths = store.newest()
    >>> number, open(paths[".txt"]).read(), store.committed()
    (3, '3', [2, 3])
    """

    def __init__(self, folder, prefix="epoch", keep=2):
        if not re.fullmatch(r"[A-Za-z0-9_]+", str(prefix)):
            raise ValueError(
                "`prefix` must be letters, digits or underscores. "
                f"Received: prefix={prefix!r}"
            )
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be an integer >= 1. Received: keep={keep!r}")
        self.folder = os.fspath(folder)
        self.prefix = prefix
        self.keep = keep
        self._pattern = re.compile(rf"{re.escape(prefix)}-(\d+)(\..+)$")

    def path(self, number, suffix):
        """The path of generation `number`'s file with `suffix` (".json": the
        manifest)."""
        return os.path.join(self.folder, f"{self.prefix}-{number:06d}{suffix}")

    def _files(self):
        """{number: [names]} of every generation file in the folder."""
        found = {}
        if os.path.isdir(self.folder):
            for name in os.listdir(self.folder):
                match = self._pattern.fullmatch(name)
                if match:
                    found.setdefault(int(match.group(1)), []).append(name)
        return found

    def committed(self):
        """The numbers of the generations with a manifest, ascending."""
        return sorted(
            n for n, names in self._files().items() if self._manifest(n) in names
        )

    def _manifest(self, number):
        return os.path.basename(self.path(number, ".json"))

    def save(self, number, writers, metadata=None):
        """Writes generation `number` and commits it; keeps the `keep` newest.

        Args:
            number: int ≥ 0, the generation (e.g. the epochs done).
            writers: {suffix: write(path)}: each writes one file at the
                temporary path it is given (a suffix such as ".weights.h5").
            metadata: a JSON-able dict stored in the manifest.
        """
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(
                f"`number` must be an integer >= 0. Received: number={number!r}"
            )
        if ".json" in writers:
            raise ValueError(
                "`writers` cannot write the manifest's suffix. "
                f"Received: writers with keys {sorted(writers)}"
            )
        recorded = {}
        for suffix, write in writers.items():
            path = self.path(number, suffix)
            with files.atomic_path(path) as tmp:
                write(tmp)
            recorded[suffix] = {
                "sha256": files.sha256(path),
                "bytes": os.path.getsize(path),
            }
        manifest = {**(metadata or {}), "generation": number, "files": recorded}
        files.write_json(self.path(number, ".json"), manifest)
        self._prune(number)

    def _prune(self, newest):
        """Deletes every generation but the `keep` newest committed ones up to
        `newest` (and any uncommitted leftovers): manifests first, so a kill
        here leaves uncommitted files, never a manifest without its files."""
        committed = [n for n in self.committed() if n <= newest]
        kept = set(committed[-self.keep :])
        found = self._files()
        for number in sorted(set(found) - kept):
            names = sorted(found[number], key=lambda n: not n.endswith(".json"))
            for name in names:
                try:
                    os.remove(os.path.join(self.folder, name))
                except FileNotFoundError:
                    pass

    def _check(self, number):
        """(manifest, {suffix: path}) of generation `number`, or the reason
        it cannot be used."""
        try:
            with open(self.path(number, ".json")) as f:
                manifest = json.load(f)
            recorded = manifest["files"]
            paths = {suffix: self.path(number, suffix) for suffix in recorded}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            return f"its manifest is unreadable ({type(error).__name__}: {error})"
        for suffix, path in paths.items():
            if not os.path.isfile(path):
                return f"{os.path.basename(path)} is missing"
            expected = recorded[suffix]
            size = os.path.getsize(path)
            if size != expected.get("bytes") or files.sha256(path) != expected.get(
                "sha256"
            ):
                return (
                    f"{os.path.basename(path)} does not match its manifest "
                    f"({size} bytes, {expected.get('bytes')} recorded): truncated "
                    "or changed"
                )
        return manifest, paths

    def newest(self):
        """The newest usable generation: (number, manifest, {suffix: path}),
        or None if there is none.

        Each newer committed generation whose files do not match its
        manifest is skipped with a `KerasDVAEWarning` that names it.
        """
        skipped = []
        for number in reversed(self.committed()):
            checked = self._check(number)
            if isinstance(checked, tuple):
                manifest, paths = checked
                self._warn(skipped, f"generation {number}")
                return number, manifest, paths
            skipped.append((number, checked))
        self._warn(skipped, "none (starting afresh)")
        return None

    def _warn(self, skipped, used):
        if skipped:
            reasons = "; ".join(
                f"{self.prefix}-{n:06d}: {reason}" for n, reason in skipped
            )
            warnings.warn(
                f"Skipped unusable generation(s) in {self.folder} ({reasons}); "
                f"using {used}.",
                KerasDVAEWarning,
                stacklevel=3,
            )
