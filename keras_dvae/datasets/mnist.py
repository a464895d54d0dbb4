"""MNIST: statically binarised (Larochelle) and raw grey levels (dynamic)."""

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import DIGITS, SPLITS, Dataset
from keras_dvae.utils import checks

STATIC_FILE = "mnist_static.npz"
RAW_FILE = "mnist.npz"
IMAGE_SHAPE = (28, 28)
#: Rows of each split of Larochelle's statically binarised files.
STATIC_ROWS = {"train": 50_000, "valid": 10_000, "test": 10_000}
#: Rows of raw MNIST's training and test sets.
RAW_ROWS = {"train": 60_000, "test": 10_000}

_LAROCHELLE = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
# No checksum is published for these (the data README's sha256 values are
# of a MATLAB re-save, a different file).
STATIC_REMOTES = tuple(
    files.Remote(
        f"binarized_mnist_{split}.amat", f"{_LAROCHELLE}binarized_mnist_{split}.amat"
    )
    for split in ("train", "valid", "test")
)
# Keras's copy; the sha256 is the one `keras.datasets.mnist.load_data` checks.
RAW_REMOTE = files.Remote(
    RAW_FILE,
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)


def load_static(data_dir=None, *, download=True, verify=None):
    """Statically binarised MNIST (Salakhutdinov & Murray 2008), 28×28.

    Larochelle's 50,000 / 10,000 / 10,000 files, in their order. The
    offline copy's labels are DERIVED (matched to raw MNIST; ~0.5% ties);
    a copy converted from the `.amat` files has none (`y_*` are `None`).

    Args:
        data_dir, download, verify: see `keras_dvae.datasets.load`; the
            files are `mnist_static.npz`, or the three
            `binarized_mnist_{train,valid,test}.amat` to convert.

    References:
        R. Salakhutdinov and I. Murray, "On the quantitative analysis of
        deep belief networks", ICML 2008. H. Larochelle and I. Murray, "The
        neural autoregressive distribution estimator", AISTATS 2011.
    """
    found = files.fetch(
        "mnist_static",
        (STATIC_FILE,),
        data_dir,
        download,
        verify,
        remotes=STATIC_REMOTES,
        convert=_convert_amat,
    )
    with np.load(found.path) as z:
        x = {
            s: files.unpack_bits(
                z[f"x_{s}"], z[f"shape_{s}"], f"{found.path}: x_{s}"
            ).astype("float32")
            for s in SPLITS
        }
        y = {
            s: z[f"y_{s}_matched"].astype("int64") if f"y_{s}_matched" in z else None
            for s in SPLITS
        }
    width = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    files.check_shapes(
        found.path,
        {
            **{f"x_{s}": x[s].shape for s in SPLITS},
            **{f"y_{s}": y[s].shape for s in SPLITS if y[s] is not None},
        },
        {
            **{f"x_{s}": (n, width) for s, n in STATIC_ROWS.items()},
            **{f"y_{s}": (n,) for s, n in STATIC_ROWS.items() if y[s] is not None},
        },
        verify,
    )
    labels = (
        "Labels y_* are DERIVED (matched to raw MNIST; ~0.5% ties), not from "
        "the source."
        if y["train"] is not None
        else "No labels (the source files have none)."
    )
    notes = (
        "Statically binarized MNIST of Salakhutdinov & Murray (2008) as "
        "distributed by H. Larochelle: 50,000 train / 10,000 valid / 10,000 "
        "test rows in the files' order, 28x28 row-major, ink = 1. "
        f"{labels} Loaded from {found.path} ({found.kind} copy)."
    )
    return Dataset.from_splits(
        "mnist_static",
        x,
        y,
        image_shape=IMAGE_SHAPE,
        binary=True,
        notes=notes,
        class_names=DIGITS,
    )


def load_dynamic(
    data_dir=None, *, download=True, verify=None, validation_size=10_000, seed=0
):
    """Raw MNIST grey levels x/255, as a `Dataset` for dynamic binarisation.

    `x_valid` is the last `validation_size` training images (the standard
    50,000 / 10,000 split); it and `x_test` are binarised once
    (`Dataset.dynamic`).

    Args:
        data_dir, download, verify: see `keras_dvae.datasets.load`; the file
            is `mnist.npz` (Keras's, downloaded when missing).
        validation_size: training images held out as `x_valid`, 0..59,999;
            0 gives `x_valid = None` and 60,000 training images.
        seed: seed of the one-off binarisation of `x_valid` and `x_test`.

    References:
        Y. Burda, R. Grosse and R. Salakhutdinov, "Importance weighted
        autoencoders", ICLR 2016 (section 5.1).
    """
    validation_size = checks.check_positive_int(
        "validation_size", validation_size, minimum=0
    )
    seed = checks.check_positive_int("seed", seed, minimum=0)
    found = files.fetch(
        "mnist", (RAW_FILE,), data_dir, download, verify, remotes=(RAW_REMOTE,)
    )
    with np.load(found.path) as z:
        arrays = {key: z[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    files.check_shapes(
        found.path,
        {key: array.shape for key, array in arrays.items()},
        {
            **{f"x_{s}": (n, *IMAGE_SHAPE) for s, n in RAW_ROWS.items()},
            **{f"y_{s}": (n,) for s, n in RAW_ROWS.items()},
        },
        verify,
    )
    x = np.concatenate([arrays["x_train"], arrays["x_test"]])
    y = np.concatenate([arrays["y_train"], arrays["y_test"]]).astype("int64")
    n_all = len(arrays["y_train"])
    if validation_size >= n_all:
        raise ValueError(
            f"`validation_size` must be < {n_all}. "
            f"Received: validation_size={validation_size}"
        )
    n_train = n_all - validation_size
    notes = (
        "Raw MNIST (LeCun et al. 1998), grey levels x/255 for DYNAMIC "
        f"binarization: x_train = the first {n_train} of the 60,000 training "
        "images as grey levels in [0, 1] (binarize every epoch with "
        f"Dataset.train_batches); x_valid = the last {validation_size} training "
        "images and x_test = the 10,000 test images, each binarized ONCE as "
        "(np.random.default_rng([seed, k]).random(shape, dtype=float32) < grey) "
        f"with seed={seed}, k=1 for valid and k=2 for test. 28x28 row-major, "
        f"ink = 1. Loaded from {found.path} ({found.kind} copy)."
    )
    return Dataset.dynamic(
        "mnist",
        x.reshape(len(x), -1).astype("float32") / 255.0,
        y,
        {
            "train": slice(n_train),
            "valid": slice(n_train, n_all),
            "test": slice(n_all, None),
        },
        seed,
        image_shape=IMAGE_SHAPE,
        notes=notes,
        class_names=DIGITS,
    )


def _read_amat(path):
    """One Larochelle file: text rows of 784 values 0/1 (or a MATLAB re-save)."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"MATLAB":
        # Some mirrors (e.g. the ARM-gradient repository) re-saved the files
        # as MATLAB v5 under the same name, holding one variable `X`.
        from scipy.io import loadmat

        x = np.asarray(loadmat(path)["X"])
    else:
        with open(path, "rb") as f:
            x = np.array(f.read().split(), dtype=np.uint8).reshape(-1, 784)
    if x.ndim != 2 or x.shape[1] != 784 or not np.isin(x, (0, 1)).all():
        raise ValueError(f"{path} is not an (n, 784) matrix of 0/1 values.")
    return x.astype(np.uint8)


def _convert_amat(sources, out):
    arrays = {}
    for split in SPLITS:
        x = _read_amat(sources[f"binarized_mnist_{split}.amat"])
        arrays[f"x_{split}"] = np.packbits(x, axis=-1)
        arrays[f"shape_{split}"] = np.array(x.shape, dtype=np.int64)
    np.savez_compressed(out, **arrays)
